#pragma once
// ArtifactStore: where the registry keeps artifact bytes, content-addressed by
// lowercase hex sha256 (identical bytes are stored once). Versions reference
// artifacts by sha256 whichever backend holds them. Implementations:
// PgArtifactStore (the `artifacts` table, the default) and FileArtifactStore
// (a local or shared directory). Stores are thread-safe; one writer or
// reader serves one upload or download on one thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::registry {

struct StoredArtifact {
  std::string sha256;
  int64_t size_bytes = 0;
};

// One streamed upload. Append the bytes in order, then Commit. Destroying an
// uncommitted writer stores nothing.
class ArtifactWriter {
 public:
  virtual ~ArtifactWriter() = default;
  // InvalidArgument when the bytes exceed the expected size or the limit.
  virtual absl::Status Append(std::string_view chunk) = 0;
  // Verifies size and sha256 of everything appended (InvalidArgument
  // "artifact sha256 mismatch: expected X, got Y" / "artifact size
  // mismatch: ..."; nothing stored), then stores it unless it is stored
  // already (deduplicated).
  virtual absl::StatusOr<StoredArtifact> Commit() = 0;
};

// One verified download: opening checked that the whole stored content hashes
// to its sha256, so every byte handed out is verified.
class ArtifactReader {
 public:
  virtual ~ArtifactReader() = default;
  virtual const StoredArtifact& info() const = 0;
  // The next up to `max_bytes` bytes; empty at the end.
  virtual absl::StatusOr<std::string> Read(size_t max_bytes) = 0;
};

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  // "postgres" or "file:<root>".
  virtual std::string Describe() const = 0;
  // Starts an upload of the artifact `sha256` (validated by the caller) of
  // exactly `size_bytes` bytes (0: any size up to `max_bytes`).
  virtual absl::StatusOr<std::unique_ptr<ArtifactWriter>> Begin(const std::string& sha256,
                                                                int64_t size_bytes,
                                                                int64_t max_bytes) = 0;
  // The stored artifact's size, or nullopt when it is not stored.
  virtual absl::StatusOr<std::optional<StoredArtifact>> Stat(const std::string& sha256) = 0;
  // Opens the artifact at byte `offset`: NotFound if it is not stored;
  // DataLoss if its bytes no longer hash to `sha256`; InvalidArgument if the
  // offset is past its end.
  virtual absl::StatusOr<std::unique_ptr<ArtifactReader>> Open(const std::string& sha256,
                                                               int64_t offset) = 0;
};

// Stores `bytes` (one chunk) as the artifact `sha256`.
absl::StatusOr<StoredArtifact> PutArtifact(ArtifactStore& store, const std::string& sha256,
                                           const std::string& bytes);
// The rest of `reader`'s bytes.
absl::StatusOr<std::string> ReadRest(ArtifactReader& reader);
// The whole verified artifact.
absl::StatusOr<std::string> ReadWholeArtifact(ArtifactStore& store, const std::string& sha256);

// Incremental sha256 (OpenSSL EVP). Not thread-safe; a moved-from stream
// may only be destroyed.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  Sha256Stream& operator=(Sha256Stream&&) = delete;
  void Update(std::string_view bytes);
  // Lowercase hex of everything updated; the stream then starts over.
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// The checks every upload makes, whatever the backend: size against the
// expectation and the limit while bytes arrive, then the sha256. Not
// thread-safe.
class UploadCheck {
 public:
  UploadCheck(std::string sha256, int64_t size_bytes, int64_t max_bytes);
  absl::Status Append(std::string_view chunk);
  // OK when the bytes appended are the expected ones.
  absl::Status Finish();
  const std::string& sha256() const { return sha256_; }
  int64_t received() const { return received_; }

 private:
  std::string sha256_;
  int64_t size_bytes_;
  int64_t max_bytes_;
  int64_t received_ = 0;
  Sha256Stream hash_;
};

}  // namespace mlops::registry
