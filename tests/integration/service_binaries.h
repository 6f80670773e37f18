#pragma once
// AllServiceBinaries(): the six service binaries of this build tree, from the
// MLOPS_SERVICE_BINARIES compile definition that tests/integration/CMakeLists.txt
// sets on the tests that start the whole platform.

#include <vector>

#include "tests/integration/local_platform.h"

#ifndef MLOPS_SERVICE_BINARIES
#error "MLOPS_SERVICE_BINARIES is set by tests/integration/CMakeLists.txt"
#endif

namespace mlops::testing_platform {

inline std::vector<ServiceBinary> AllServiceBinaries() {
  return {
#define MLOPS_BINARY(name, macro) {name, macro},
      MLOPS_SERVICE_BINARIES
#undef MLOPS_BINARY
  };
}

}  // namespace mlops::testing_platform
