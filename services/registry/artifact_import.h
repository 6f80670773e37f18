#pragma once
// Imports artifact bytes named by a reference ("file:///absolute/path") into
// an ArtifactStore: the file is read in chunks, verified against the given
// sha256 (and size), and stored content-addressed like an upload. Only files
// under the configured import directories may be read (the registry process
// can read more than its callers should); none configured: file references
// are refused. Pure functions over the store; thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include "services/registry/artifact_store.h"

namespace mlops::registry {

struct ArtifactImportOptions {
  // Absolute directories files may be imported from (empty: none).
  std::vector<std::string> allowed_dirs;
  int64_t max_bytes = int64_t{1} << 30;
};

// The absolute path of "file:///abs/path" (taken literally: no host, no
// percent-decoding, no "." or ".." segments). InvalidArgument naming `field`.
absl::StatusOr<std::string> FilePathFromUri(const std::string& uri, const std::string& field);

// Copies the file at `uri` into `store`, verified against `sha256` and
// `size_bytes` (0: unchecked). Errors name `field` (the reference's URI
// field): InvalidArgument (bad URI, not a regular file, hash or size
// mismatch); FailedPrecondition (no import directory configured);
// PermissionDenied (outside them, also through symlinks); NotFound (no such
// file).
absl::StatusOr<StoredArtifact> ImportFileArtifact(ArtifactStore& store, const std::string& uri,
                                                  const std::string& sha256, int64_t size_bytes,
                                                  const ArtifactImportOptions& options,
                                                  const std::string& field);

}  // namespace mlops::registry
