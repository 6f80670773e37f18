// Postgres tests of ChunkCopy (binary COPY into `chunks`): the bytes come
// back exactly, a server-side failure is reported with its mapped code, and
// an abandoned COPY leaves nothing once its transaction rolls back.
#include <pqxx/pqxx>

#include <memory>
#include <string>

#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/ingestion/ingestion_pg_fixture.h"
#include "services/ingestion/pg_chunk_copy.h"

namespace mlops::ingestion {
namespace {

// Every byte value, the COPY text format's specials (tab, newline,
// backslash) among them, and a chunk larger than libpq's buffers.
std::string AllBytes(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

class ChunkCopyTest : public IngestionPgFixture {
 protected:
  absl::StatusOr<int64_t> Count() {
    return pool_->WithTransaction({"kTestCount"}, [](pqxx::transaction_base& tx) {
      return tx.exec("SELECT count(*) FROM chunks")[0][0].as<int64_t>();
    });
  }
};

TEST_F(ChunkCopyTest, WritesTheBytesAndRowCountsExactly) {
  const std::string big = AllBytes(3 << 20);
  const std::string small = AllBytes(256);
  MLOPS_ASSERT_OK(pool_->WithTransaction({"kTestCopy"}, [&](pqxx::transaction_base& tx) {
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/0", 4096, big));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/1", 7, small));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/2", 0, ""));
    MLOPS_RETURN_IF_ERROR(copy->Complete());
    // The transaction goes on after the COPY.
    return tx.exec1("SELECT count(*) FROM chunks")[0].as<int64_t>() == 3
               ? absl::OkStatus()
               : absl::InternalError("the COPY's rows are not visible");
  }));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string first, store_->ReadChunk("v/0"));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string second, store_->ReadChunk("v/1"));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string third, store_->ReadChunk("v/2"));
  EXPECT_TRUE(first == big);
  EXPECT_EQ(second, small);
  EXPECT_EQ(third, "");
  MLOPS_ASSERT_OK_AND_ASSIGN(
      std::string counts, pool_->WithTransaction({"kTestRowCounts"}, [](pqxx::transaction_base& tx) {
        return tx.exec1("SELECT string_agg(row_count::text, ',' ORDER BY id) FROM chunks")[0]
            .as<std::string>();
      }));
  EXPECT_EQ(counts, "4096,7,0");
}

TEST_F(ChunkCopyTest, DuplicateIdIsAlreadyExistsAndNothingStays) {
  absl::Status s = pool_->WithTransaction({"kTestCopy"}, [&](pqxx::transaction_base& tx) {
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/0", 1, "a"));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/0", 1, "b"));
    return copy->Complete();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t n, Count());
  EXPECT_EQ(n, 0);
}

TEST_F(ChunkCopyTest, AbandonedCopyLeavesNothingAndTheConnectionWorks) {
  absl::Status s = pool_->WithTransaction({"kTestCopy"}, [&](pqxx::transaction_base& tx) {
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
    MLOPS_RETURN_IF_ERROR(copy->Write("v/0", 1, "a"));
    return absl::AbortedError("the caller gives up mid-COPY");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
  for (int i = 0; i < 3; ++i) {  // every pooled connection is still usable
    MLOPS_ASSERT_OK_AND_ASSIGN(int64_t n, Count());
    EXPECT_EQ(n, 0);
  }
}

TEST_F(ChunkCopyTest, LostConnectionIsUnavailableAndTheRetryWrites) {
  const std::string big = AllBytes(4 << 20);  // more than libpq buffers
  int attempts = 0;
  absl::Status first_error;
  MLOPS_ASSERT_OK(pool_->WithTransaction({"kTestCopy"}, [&](pqxx::transaction_base& tx) {
    ++attempts;
    const int64_t pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int64_t>();
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
    if (attempts == 1) {
      MLOPS_RETURN_IF_ERROR(pool_->WithConnection({"kTestKill"}, [&](pqxx::connection_base& c) {
        pqxx::nontransaction other(c);
        other.exec_params("SELECT pg_terminate_backend($1)", pid);
      }));
    }
    absl::Status s = copy->Write("v/0", 1, big);
    if (s.ok()) s = copy->Write("v/1", 1, big);
    if (s.ok()) s = copy->Complete();
    if (attempts == 1) first_error = s;
    return s;
  }));
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(first_error.code(), absl::StatusCode::kUnavailable) << first_error;
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t n, Count());
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace mlops::ingestion
