// Retention deletion on Postgres (PgRetentionStore + RetentionSweeper,
// migration 0005): old prediction batches go with their request rows,
// recent ones stay, each model by its own config (or the default 7 days);
// labels whose predictions are gone go once older than the cutoff; a second
// sweep deletes nothing; work per sweep is bounded.
#include <memory>
#include <string>
#include <vector>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "mlops/monitoring/v1/monitoring.pb.h"
#include "mlops_migrations/monitoring_migrations.h"
#include "pqxx/pqxx"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/pg_retention_store.h"
#include "services/monitoring/retention_sweeper.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kNow = 1'800'000'000'000'000;

class RetentionPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "monitoring";
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "monitoring", EmbeddedMigrations()).status(), IsOk());
    store_ = std::make_unique<PgMonitoringStore>(pool_.get());
    retention_ = std::make_unique<PgRetentionStore>(pool_.get());
  }
  void TearDown() override {
    retention_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  RetentionSweeper Sweeper(int64_t per_transaction = 500, int64_t max_transactions = 100) {
    RetentionSweeperOptions o;
    o.now_micros = [] { return kNow; };
    o.raw_retention_of = RawRetentionFromConfigs(store_.get());
    o.batches_per_transaction = per_transaction;
    o.labels_per_transaction = per_transaction;
    o.max_transactions = max_transactions;
    return RetentionSweeper(retention_.get(), nullptr, o);
  }
  // One batch of `model`@1 with request ids prefix-0 .. prefix-(n-1), the
  // last at `max_ts` (the others one microsecond apart before it), stored
  // by writer `writer` (its partition of the request ids).
  void LogBatch(const std::string& model, const std::string& prefix, int n, int64_t max_ts,
                int writer = 0) {
    PredictionLogBatch b(model, 1, "ep", 0);
    for (int i = 0; i < n; ++i) {
      b.features_buffer();
      b.Add(prefix + "-" + std::to_string(i), max_ts - (n - 1 - i), 0.5, "yes", 1, "");
    }
    ASSERT_THAT(store_->AppendPredictions({b}, writer), IsOk());
  }
  void SetRawRetention(const std::string& model, int64_t micros) {
    v1::MonitoringConfig c;
    c.set_raw_retention_micros(micros);
    ASSERT_THAT(store_->PutConfig(model, c.SerializeAsString(), kNow), IsOk());
  }
  void Label(const std::string& request_id, const std::string& model, int64_t received) {
    LabelValue v;
    v.kind = LabelValue::Kind::kBool;
    v.number = 1;
    ASSERT_THAT(store_->PutLabels({{request_id, model, v, received, received}}).status(), IsOk());
  }
  int64_t Count(const std::string& sql) { return QueryInt64(*pool_, sql); }
  int64_t Batches(const std::string& model) {
    return Count("SELECT count(*) FROM prediction_batches WHERE model = '" + model + "'");
  }
  int64_t Requests(const std::string& prefix) {
    return Count("SELECT count(*) FROM prediction_requests WHERE request_id LIKE '" + prefix +
                 "-%'");
  }
  bool HasLabel(const std::string& request_id, const std::string& model) {
    return Count("SELECT count(*) FROM ground_truth WHERE request_id = '" + request_id +
                 "' AND model = '" + model + "'") == 1;
  }

  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgMonitoringStore> store_;
  std::unique_ptr<PgRetentionStore> retention_;
};

TEST_F(RetentionPgTest, DefaultRetentionDeletesOldBatchesWithTheirRequestsAndKeepsRecent) {
  LogBatch("fraud", "old", 3, kNow - 8 * kDay);
  LogBatch("fraud", "older", 2, kNow - 9 * kDay, /*writer=*/1);
  LogBatch("fraud", "recent", 3, kNow - 1 * kDay, /*writer=*/1);
  LogBatch("fraud", "edge", 3, kNow - 7 * kDay + 1);  // newest record inside 7 days
  RetentionSweeper sweeper = Sweeper();
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->batches, 2);
  EXPECT_EQ(d->requests, 5);
  EXPECT_EQ(Batches("fraud"), 2);
  EXPECT_EQ(Requests("old"), 0);
  EXPECT_EQ(Requests("older"), 0);
  EXPECT_EQ(Requests("recent"), 3);
  EXPECT_EQ(Requests("edge"), 3);
  absl::StatusOr<std::vector<KnownPrediction>> found =
      store_->FindPredictions({"old-0", "recent-0"});
  ASSERT_THAT(found.status(), IsOk());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].request_id, "recent-0");
}

TEST_F(RetentionPgTest, ARequestIdInAnOldAndARecentBatchKeepsTheRecentRow) {
  // The old batch in writer 1's partition, the recent one in writer 0's.
  LogBatch("fraud", "q\"\\,{x}", 2, kNow - 8 * kDay, /*writer=*/1);  // quote, backslash, comma, braces
  LogBatch("fraud", "q\"\\,{x}", 2, kNow - kHour);
  RetentionSweeper sweeper = Sweeper();
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->batches, 1);
  EXPECT_EQ(d->requests, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests r JOIN prediction_batches b"
                  " USING (batch_id) WHERE b.max_timestamp_micros = " +
                  std::to_string(kNow - kHour)),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests"), 2);
}

TEST_F(RetentionPgTest, EachModelKeepsItsOwnRawRetention) {
  SetRawRetention("short", 2 * kHour);
  SetRawRetention("long", 30 * kDay);
  for (const std::string model : {"short", "long", "plain"}) {  // plain: no config
    LogBatch(model, model + "3h", 2, kNow - 3 * kHour);
    LogBatch(model, model + "10d", 2, kNow - 10 * kDay);
  }
  RetentionSweeper sweeper = Sweeper();
  ASSERT_THAT(sweeper.SweepOnce().status(), IsOk());
  EXPECT_EQ(Requests("short3h"), 0);
  EXPECT_EQ(Requests("short10d"), 0);
  EXPECT_EQ(Requests("long3h"), 2);
  EXPECT_EQ(Requests("long10d"), 2);
  EXPECT_EQ(Requests("plain3h"), 2);
  EXPECT_EQ(Requests("plain10d"), 0);
  EXPECT_EQ(Batches("short"), 0);
  EXPECT_EQ(Batches("long"), 2);
  EXPECT_EQ(Batches("plain"), 1);
}

TEST_F(RetentionPgTest, ASecondSweepDeletesNothing) {
  LogBatch("fraud", "old", 2, kNow - 8 * kDay);
  LogBatch("fraud", "recent", 2, kNow - kHour);
  Label("old-0", "fraud", kNow - 8 * kDay);
  RetentionSweeper sweeper = Sweeper();
  absl::StatusOr<RetentionDeleted> first = sweeper.SweepOnce();
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(first->batches, 1);
  EXPECT_EQ(first->labels, 1);
  absl::StatusOr<RetentionDeleted> second = sweeper.SweepOnce();
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_EQ(second->batches, 0);
  EXPECT_EQ(second->requests, 0);
  EXPECT_EQ(second->labels, 0);
  EXPECT_EQ(Requests("recent"), 2);
}

TEST_F(RetentionPgTest, LabelsGoOnlyWhenOldAndTheirPredictionIsGone) {
  LogBatch("fraud", "old", 2, kNow - 8 * kDay);
  LogBatch("fraud", "recent", 2, kNow - kDay);
  LogBatch("other", "theirs", 1, kNow - kDay);
  Label("old-0", "fraud", kNow - 8 * kDay);      // prediction deleted, label old: deleted
  Label("old-1", "", kNow - 8 * kDay);           // model-less, same: deleted
  Label("recent-0", "fraud", kNow - 9 * kDay);   // label before its kept prediction: kept
  Label("theirs-0", "", kNow - 9 * kDay);        // model-less, another model's prediction: kept
  Label("theirs-0", "fraud", kNow - 9 * kDay);   // fraud never logged it: deleted
  Label("old-1", "fraud", kNow - kHour);         // recent label of a deleted prediction: kept
  RetentionSweeper sweeper = Sweeper();
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->labels, 3);
  EXPECT_FALSE(HasLabel("old-0", "fraud"));
  EXPECT_FALSE(HasLabel("old-1", ""));
  EXPECT_TRUE(HasLabel("recent-0", "fraud"));
  EXPECT_TRUE(HasLabel("theirs-0", ""));
  EXPECT_FALSE(HasLabel("theirs-0", "fraud"));
  EXPECT_TRUE(HasLabel("old-1", "fraud"));
  // As documented: that late label has no prediction left, so it is listed
  // pending (and expires after its TTL) until it is older than the cutoff.
  absl::StatusOr<std::vector<StoredPendingLabel>> pending = store_->ListPendingLabels(100);
  ASSERT_THAT(pending.status(), IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key.request_id, "old-1");
}

TEST_F(RetentionPgTest, WorkPerSweepIsBoundedAndTheRestGoesNextSweep) {
  for (int i = 0; i < 5; ++i) LogBatch("fraud", "b" + std::to_string(i), 2, kNow - 10 * kDay);
  RetentionSweeper bounded = Sweeper(/*per_transaction=*/2, /*max_transactions=*/1);
  absl::StatusOr<RetentionDeleted> d = bounded.SweepOnce();
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->batches, 2);
  EXPECT_EQ(d->requests, 4);
  EXPECT_EQ(Batches("fraud"), 3);
  RetentionSweeper draining = Sweeper(/*per_transaction=*/2, /*max_transactions=*/10);
  d = draining.SweepOnce();
  ASSERT_THAT(d.status(), IsOk());
  EXPECT_EQ(d->batches, 3);
  EXPECT_EQ(Batches("fraud"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests"), 0);
}

}  // namespace
}  // namespace mlops::monitoring
