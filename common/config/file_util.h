#pragma once
// Small file helpers for configuration files (token files, PEM files).
// Stateless, thread-safe.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops {

// Largest file ReadFileToString accepts: config files are small, and a limit
// turns a wrong path (a device, a huge log) into a clear error.
inline constexpr size_t kMaxConfigFileBytes = 16 << 20;

// The whole file. NotFound when it does not exist; PermissionDenied when it
// cannot be read; InvalidArgument when it is not a regular file or is larger
// than kMaxConfigFileBytes. Messages name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// OK when `path` names a regular file this process can open for reading; the
// same errors as ReadFileToString.
absl::Status CheckReadableFile(const std::string& path);

// Writes `contents` to a temporary file beside `path` and renames it over
// `path`, so that readers see the old or the new file, never half of one.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

}  // namespace mlops
