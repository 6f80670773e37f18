#pragma once
// The typed test suite every ArtifactStore backend must pass. A backend's test
// file defines an environment fixture `Env` (a gtest fixture offering
// `ArtifactStore* store()`, `void Corrupt(const std::string& sha256)`, which
// damages the stored bytes, and `int64_t StoredCount()`, everything the
// backend holds, temporary files included) and instantiates:
//   INSTANTIATE_TYPED_TEST_SUITE_P(File, ArtifactStoreContract, ::testing::Types<FileEnv>);
#include <memory>
#include <string>

#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/registry/artifact_store.h"
#include "services/registry/audit_chain.h"

namespace mlops::registry {

template <typename Env>
class ArtifactStoreContract : public Env {
 public:
  static std::string Big() {
    std::string s(3 * (1 << 20) + 12345, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7919) >> 3);
    return s;
  }

 protected:
  // Uploads `bytes` in chunks of `chunk` bytes, expecting `sha256`/`size`.
  absl::StatusOr<StoredArtifact> Upload(const std::string& bytes, size_t chunk,
                                        const std::string& sha256, int64_t size,
                                        int64_t max_bytes = 0) {
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactWriter> w,
                           this->store()->Begin(sha256, size, max_bytes));
    for (size_t pos = 0; pos < bytes.size(); pos += chunk) {
      MLOPS_RETURN_IF_ERROR(w->Append(std::string_view(bytes).substr(pos, chunk)));
    }
    return w->Commit();
  }
};

TYPED_TEST_SUITE_P(ArtifactStoreContract);

TYPED_TEST_P(ArtifactStoreContract, ChunkedUploadIsStoredAndReadBackVerified) {
  const std::string bytes = this->Big();
  const std::string sha = Sha256Hex(bytes);
  MLOPS_ASSERT_OK_AND_ASSIGN(StoredArtifact put,
                             this->Upload(bytes, 100000, sha, static_cast<int64_t>(bytes.size())));
  EXPECT_EQ(put.sha256, sha);
  EXPECT_EQ(put.size_bytes, static_cast<int64_t>(bytes.size()));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<StoredArtifact> stat, this->store()->Stat(sha));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->size_bytes, static_cast<int64_t>(bytes.size()));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string back, ReadWholeArtifact(*this->store(), sha));
  EXPECT_TRUE(back == bytes);
}

TYPED_TEST_P(ArtifactStoreContract, ReadsFromAnOffsetInBoundedChunks) {
  const std::string bytes = this->Big();
  const std::string sha = Sha256Hex(bytes);
  ASSERT_THAT(this->Upload(bytes, 1 << 20, sha, 0).status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ArtifactReader> r, this->store()->Open(sha, 1000));
  EXPECT_EQ(r->info().size_bytes, static_cast<int64_t>(bytes.size()));
  std::string back;
  for (int i = 0; i < 1000; ++i) {
    MLOPS_ASSERT_OK_AND_ASSIGN(std::string chunk, r->Read(65536));
    ASSERT_LE(chunk.size(), 65536u);
    if (chunk.empty()) break;
    back += chunk;
  }
  EXPECT_TRUE(back == bytes.substr(1000));
  EXPECT_THAT(this->store()->Open(sha, static_cast<int64_t>(bytes.size()) + 1).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TYPED_TEST_P(ArtifactStoreContract, IdenticalBytesAreStoredOnce) {
  const std::string sha = Sha256Hex("model");
  MLOPS_ASSERT_OK_AND_ASSIGN(StoredArtifact a, this->Upload("model", 2, sha, 5));
  MLOPS_ASSERT_OK_AND_ASSIGN(StoredArtifact b, this->Upload("model", 5, sha, 5));
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(this->StoredCount(), 1);
}

TYPED_TEST_P(ArtifactStoreContract, HashOrSizeMismatchStoresNothing) {
  const std::string other = Sha256Hex("other");
  EXPECT_THAT(this->Upload("model-bytes", 4, other, 0).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("artifact sha256 mismatch: expected " + other +
                                            ", got " + Sha256Hex("model-bytes"))));
  const std::string sha = Sha256Hex("model-bytes");
  EXPECT_THAT(this->Upload("model-bytes", 4, sha, 5).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("size")));
  EXPECT_THAT(this->Upload("model-bytes", 4, sha, 12).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("size")));
  EXPECT_THAT(this->Upload("model-bytes", 4, sha, 0, 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("limit")));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<StoredArtifact> stat, this->store()->Stat(sha));
  EXPECT_FALSE(stat.has_value());
  EXPECT_EQ(this->StoredCount(), 0);
}

TYPED_TEST_P(ArtifactStoreContract, AbandonedUploadStoresNothing) {
  const std::string sha = Sha256Hex("partial-upload");
  {
    MLOPS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<ArtifactWriter> w,
                               this->store()->Begin(sha, 14, 0));
    ASSERT_THAT(w->Append("partial"), IsOk());
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<StoredArtifact> stat, this->store()->Stat(sha));
  EXPECT_FALSE(stat.has_value());
  EXPECT_EQ(this->StoredCount(), 0);
}

TYPED_TEST_P(ArtifactStoreContract, UnknownArtifactIsNotFound) {
  const std::string sha = Sha256Hex("never stored");
  MLOPS_ASSERT_OK_AND_ASSIGN(std::optional<StoredArtifact> stat, this->store()->Stat(sha));
  EXPECT_FALSE(stat.has_value());
  EXPECT_THAT(this->store()->Open(sha, 0).status(), StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST_P(ArtifactStoreContract, DamagedBytesAreDataLossBeforeAnyByte) {
  const std::string sha = Sha256Hex("intact model");
  ASSERT_THAT(this->Upload("intact model", 3, sha, 0).status(), IsOk());
  this->Corrupt(sha);
  EXPECT_THAT(this->store()->Open(sha, 0).status(), StatusIs(absl::StatusCode::kDataLoss));
  // Uploading the same (verified) bytes again replaces the damaged copy.
  ASSERT_THAT(this->Upload("intact model", 3, sha, 0).status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string again, ReadWholeArtifact(*this->store(), sha));
  EXPECT_EQ(again, "intact model");
  EXPECT_EQ(this->StoredCount(), 1);
}

REGISTER_TYPED_TEST_SUITE_P(ArtifactStoreContract, ChunkedUploadIsStoredAndReadBackVerified,
                            ReadsFromAnOffsetInBoundedChunks, IdenticalBytesAreStoredOnce,
                            HashOrSizeMismatchStoresNothing, AbandonedUploadStoresNothing,
                            UnknownArtifactIsNotFound, DamagedBytesAreDataLossBeforeAnyByte);

}  // namespace mlops::registry
