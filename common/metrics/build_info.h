#pragma once
// Build identity exported by every service as
//   mlops_build_info{service="registry",version="0.1.0",commit="abc123"} 1
// Stateless; thread-safe.

#include <string>

#include "prometheus/registry.h"

namespace mlops {

struct BuildInfo {
  std::string service;  // e.g. "registry"
  std::string version;  // e.g. "0.1.0" (CMake PROJECT_VERSION)
  std::string commit;   // short git hash, or "unknown"
};

// The version and commit this binary was built from, for `service`.
BuildInfo CurrentBuildInfo(std::string service);

// Adds the gauge mlops_build_info{service,version,commit} = 1 to `registry`.
void AddBuildInfoMetric(prometheus::Registry& registry, const BuildInfo& info);

}  // namespace mlops
