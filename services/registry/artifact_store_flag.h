#pragma once
// The registry's --artifact_store flag: "postgres" (the default: the
// `artifacts` table) or "file:/absolute/dir" (FileArtifactStore), and the
// --artifact_import_dirs list. Pure parsing; thread-safe.
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::registry {

struct ArtifactStoreSpec {
  bool file = false;
  std::string root;  // when file
};

// InvalidArgument naming the flag for anything else.
absl::StatusOr<ArtifactStoreSpec> ParseArtifactStoreFlag(const std::string& value);
// Comma-separated absolute directories ("" = none).
absl::StatusOr<std::vector<std::string>> ParseImportDirsFlag(const std::string& value);

}  // namespace mlops::registry
