#pragma once
// ArtifactStore over a local or shared directory. An artifact lives at
// <root>/sha256/<first 2 hex>/<other 62 hex>; an upload is written to a
// temporary file under <root>/tmp, verified, fsynced and renamed into place
// atomically (the directory is fsynced too), so a path either holds complete
// verified bytes or does not exist. Several registry replicas may share the
// directory: identical uploads race to the same content. Reads are verified
// (the whole file is hashed before a byte is handed out). Thread-safe.
#include <memory>
#include <string>

#include "services/registry/artifact_store.h"

namespace mlops::registry {

class FileArtifactStore final : public ArtifactStore {
 public:
  // Creates <root>/sha256 and <root>/tmp if needed. InvalidArgument when
  // `root` is not absolute; Unavailable when it cannot be created or written.
  static absl::StatusOr<std::unique_ptr<FileArtifactStore>> Create(const std::string& root);

  std::string Describe() const override { return "file:" + root_; }
  absl::StatusOr<std::unique_ptr<ArtifactWriter>> Begin(const std::string& sha256,
                                                        int64_t size_bytes,
                                                        int64_t max_bytes) override;
  absl::StatusOr<std::optional<StoredArtifact>> Stat(const std::string& sha256) override;
  absl::StatusOr<std::unique_ptr<ArtifactReader>> Open(const std::string& sha256,
                                                       int64_t offset) override;

  // Where the artifact `sha256` is (or would be) stored.
  std::string PathOf(const std::string& sha256) const;

 private:
  explicit FileArtifactStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace mlops::registry
