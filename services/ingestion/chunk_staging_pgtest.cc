// Postgres tests of PgChunkStaging: chunks written while a batch streams end
// up under the version's ids when it commits, and leave nothing behind when
// it does not (rejection, replay, error, abandonment).
#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status_macros.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/ingestion/ingestion_pg_fixture.h"

namespace mlops::ingestion {
namespace {

namespace cv1 = ::mlops::common::v1;

using Prepare = std::function<absl::StatusOr<std::optional<PreparedVersion>>(
    const std::optional<VersionRecord>& head)>;

ChunkData Chunk(int64_t first, int rows) {
  v1::RowChunk rc;
  for (int64_t i = first; i < first + rows; ++i) {
    cv1::Row* r = rc.add_rows();
    r->add_values()->set_int64_value(i);
    r->add_values()->set_double_value(static_cast<double>(i) / 4);
    r->add_values()->set_string_value("s" + std::to_string(i));
    r->add_values()->set_timestamp_micros(1'700'000'000'000'000 + i);
  }
  ChunkData c;
  c.row_count = rows;
  c.rows = rc.SerializeAsString();
  return c;
}

class ChunkStagingTest : public IngestionPgFixture {
 protected:
  void CreateTx() {
    v1::CreateDatasetRequest req;
    req.set_name("tx");
    *req.mutable_schema() = TxSchema();
    MLOPS_ASSERT_OK(ingestion_->CreateDataset(Principal{"alice", Role::kEditor}, req).status());
  }

  int64_t ChunkCount() {
    absl::StatusOr<int64_t> n = pool_->WithTransaction(
        {"kTestCount"}, [](pqxx::transaction_base& tx) {
          return tx.exec("SELECT count(*) FROM chunks")[0][0].as<int64_t>();
        });
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(-1);
  }

  // A staging with `a` then `b` added, or nullptr (a failure is recorded).
  std::unique_ptr<ChunkStaging> StageBoth(const ChunkData& a, const ChunkData& b) {
    std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
    if (staging == nullptr || !staging->Add(a) || !staging->Add(b)) {
      ADD_FAILURE() << "the chunks could not be staged";
      return nullptr;
    }
    return staging;
  }

  // A version of `rows` rows named `id` (the chunks come from the staging).
  static Prepare Version(const std::string& id, int64_t rows) {
    return [id, rows](const std::optional<VersionRecord>&) {
      PreparedVersion p;
      p.version.id = id;
      p.version.dataset = "tx";
      p.version.row_count = rows;
      p.version.batch_row_count = rows;
      return absl::StatusOr<std::optional<PreparedVersion>>(std::optional<PreparedVersion>(p));
    };
  }
};

TEST_F(ChunkStagingTest, CommittedChunksTakeTheVersionsIds) {
  CreateTx();
  const ChunkData a = Chunk(0, 3);
  const ChunkData b = Chunk(3, 2);
  std::unique_ptr<ChunkStaging> staging = StageBoth(a, b);
  ASSERT_NE(staging, nullptr);
  const std::string id(64, 'b');
  std::optional<CommitOutcome> out = staging->Commit("tx", "", 2, Version(id, 5));
  staging.reset();
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->written);
  EXPECT_EQ(out->version.id, id);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string first, store_->ReadChunk(id + "/0"));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string second, store_->ReadChunk(id + "/1"));
  EXPECT_EQ(first, a.rows);
  EXPECT_EQ(second, b.rows);
  EXPECT_EQ(ChunkCount(), 2);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<ChunkRef> refs, store_->ListChunks(id));
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[1].first_row, 3);
  MLOPS_ASSERT_OK_AND_ASSIGN(DatasetRecord d, store_->GetDataset("tx"));
  EXPECT_EQ(d.head_version_id, id);
}

TEST_F(ChunkStagingTest, PrepareReadsTheStagedChunksBack) {
  CreateTx();
  const ChunkData a = Chunk(0, 3);
  const ChunkData b = Chunk(3, 2);
  std::unique_ptr<ChunkStaging> staging = StageBoth(a, b);
  ASSERT_NE(staging, nullptr);
  auto keep = [](std::vector<ChunkData>* out) {
    return [out](const ChunkData& c) {
      out->push_back(c);
      return absl::OkStatus();
    };
  };
  std::vector<ChunkData> outside;
  EXPECT_EQ(staging->ForEachStaged(keep(&outside)).code(), absl::StatusCode::kFailedPrecondition);
  const std::string id(64, 'c');
  std::vector<ChunkData> seen;
  Prepare prepare = [&](const std::optional<VersionRecord>& head)
      -> absl::StatusOr<std::optional<PreparedVersion>> {
    MLOPS_RETURN_IF_ERROR(staging->ForEachStaged(keep(&seen)));
    return Version(id, 5)(head);
  };
  std::optional<CommitOutcome> out = staging->Commit("tx", "", 2, prepare);
  EXPECT_TRUE(staging->Writing());
  staging.reset();
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->written);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].rows, a.rows);
  EXPECT_EQ(seen[0].row_count, 3);
  EXPECT_EQ(seen[1].rows, b.rows);
  EXPECT_EQ(seen[1].row_count, 2);
  EXPECT_TRUE(outside.empty());
}

TEST_F(ChunkStagingTest, NothingStaysWhenTheBatchDoesNotCommit) {
  CreateTx();
  {  // abandoned (the stream failed or was cancelled)
    std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
    ASSERT_NE(staging, nullptr);
    ASSERT_TRUE(staging->Add(Chunk(0, 3)));
  }
  EXPECT_EQ(ChunkCount(), 0);
  {  // rejected in prepare: an outcome, nothing written
    std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
    ASSERT_NE(staging, nullptr);
    ASSERT_TRUE(staging->Add(Chunk(0, 3)));
    std::optional<CommitOutcome> out =
        staging->Commit("tx", "", 1, [](const std::optional<VersionRecord>&) {
          return absl::StatusOr<std::optional<PreparedVersion>>(std::nullopt);
        });
    ASSERT_TRUE(out.has_value());
    EXPECT_FALSE(out->written);
    EXPECT_FALSE(out->replayed);
  }
  EXPECT_EQ(ChunkCount(), 0);
  {  // an error: the caller falls back to CommitVersion
    std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
    ASSERT_NE(staging, nullptr);
    ASSERT_TRUE(staging->Add(Chunk(0, 3)));
    EXPECT_FALSE(staging->Commit("tx", "", 1, [](const std::optional<VersionRecord>&) {
                          return absl::StatusOr<std::optional<PreparedVersion>>(
                              absl::InternalError("boom"));
                        }).has_value());
  }
  EXPECT_EQ(ChunkCount(), 0);
  {  // fewer chunks staged than the batch has
    std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
    ASSERT_NE(staging, nullptr);
    ASSERT_TRUE(staging->Add(Chunk(0, 3)));
    EXPECT_FALSE(staging->Commit("tx", "", 2, Version(std::string(64, 'c'), 3)).has_value());
  }
  EXPECT_EQ(ChunkCount(), 0);
  MLOPS_ASSERT_OK_AND_ASSIGN(DatasetRecord d, store_->GetDataset("tx"));
  EXPECT_EQ(d.head_version_id, "");
}

TEST_F(ChunkStagingTest, ReplayRollsTheStagedChunksBack) {
  CreateTx();
  const std::string id(64, 'd');
  MLOPS_ASSERT_OK(store_->CommitVersion("tx", "key-1", [&](const std::optional<VersionRecord>& h) {
    absl::StatusOr<std::optional<PreparedVersion>> p = Version(id, 3)(h);
    (*p)->version.idempotency_key = "key-1";
    (*p)->chunks = [](const std::function<absl::Status(const ChunkData&)>& fn) {
      return fn(Chunk(0, 3));
    };
    return p;
  }).status());
  ASSERT_EQ(ChunkCount(), 1);
  std::unique_ptr<ChunkStaging> staging = store_->StartStaging();
  ASSERT_NE(staging, nullptr);
  ASSERT_TRUE(staging->Add(Chunk(0, 3)));
  std::optional<CommitOutcome> out = staging->Commit("tx", "key-1", 1, Version(std::string(64, 'e'), 3));
  staging.reset();
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->replayed);
  EXPECT_EQ(out->version.id, id);
  EXPECT_EQ(ChunkCount(), 1);
}

TEST_F(ChunkStagingTest, AtMostHalfThePoolStages) {
  std::vector<std::unique_ptr<ChunkStaging>> held;
  for (int i = 0; i < 12; ++i) {
    std::unique_ptr<ChunkStaging> s = store_->StartStaging();
    if (s == nullptr) break;
    held.push_back(std::move(s));
  }
  EXPECT_EQ(held.size(), 6u);  // the fixture's pool has 12 connections
  held.clear();
  EXPECT_NE(store_->StartStaging(), nullptr);
}

}  // namespace
}  // namespace mlops::ingestion
