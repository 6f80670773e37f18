#include "services/registry/artifact_store.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace mlops::registry {

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string Sha256Stream::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(len)));
}

UploadCheck::UploadCheck(std::string sha256, int64_t size_bytes, int64_t max_bytes)
    : sha256_(std::move(sha256)), size_bytes_(size_bytes), max_bytes_(max_bytes) {}

absl::Status UploadCheck::Append(std::string_view chunk) {
  const int64_t total = received_ + static_cast<int64_t>(chunk.size());
  if (max_bytes_ > 0 && total > max_bytes_) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact larger than the server limit of ", max_bytes_, " bytes"));
  }
  if (size_bytes_ > 0 && total > size_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("artifact size mismatch: expected ",
                                                   size_bytes_, " bytes, got more"));
  }
  received_ = total;
  hash_.Update(chunk);
  return absl::OkStatus();
}

absl::Status UploadCheck::Finish() {
  const std::string got = hash_.FinishHex();
  if (got != sha256_) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact sha256 mismatch: expected ", sha256_, ", got ", got));
  }
  if (size_bytes_ > 0 && received_ != size_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("artifact size mismatch: expected ",
                                                   size_bytes_, " bytes, got ", received_));
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredArtifact> PutArtifact(ArtifactStore& store, const std::string& sha256,
                                           const std::string& bytes) {
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactWriter> w, store.Begin(sha256, 0, 0));
  MLOPS_RETURN_IF_ERROR(w->Append(bytes));
  return w->Commit();
}

absl::StatusOr<std::string> ReadRest(ArtifactReader& reader) {
  std::string out;
  out.reserve(static_cast<size_t>(reader.info().size_bytes));
  for (;;) {
    MLOPS_ASSIGN_OR_RETURN(std::string chunk, reader.Read(size_t{1} << 20));
    if (chunk.empty()) return out;
    out += chunk;
  }
}

absl::StatusOr<std::string> ReadWholeArtifact(ArtifactStore& store, const std::string& sha256) {
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactReader> r, store.Open(sha256, 0));
  return ReadRest(*r);
}

}  // namespace mlops::registry
