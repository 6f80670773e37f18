// The packed prediction log in Postgres (migration 0003): batches written by
// AppendPredictions read back by FindPredictions, ListPendingLabels and
// QueryPerformance (percentiles equal to Postgres' percentile_disc), and the
// rows of the old one-row-per-prediction table carried over by the migration.
#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/db/migrations.h"
#include "common/status/status_macros.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "mlops_migrations/monitoring_migrations.h"
#include "pqxx/pqxx"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/prediction_log_packing.h"

namespace mlops::monitoring {
namespace {

class PredictionLogPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "monitoring";
    pool_ = MakePool(o);
    store_ = std::make_unique<PgMonitoringStore>(pool_.get());
  }
  void TearDown() override {
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }
  void Migrate(size_t up_to = 0) {
    std::vector<Migration> all = EmbeddedMigrations();
    if (up_to > 0) all.resize(up_to);
    ASSERT_THAT(RunMigrations(*pool_, "monitoring", all).status(), IsOk());
  }
  // Runs `sql` (no result needed).
  void Exec(const std::string& sql) {
    ASSERT_THAT(pool_->WithTransaction(PgCallOptions{"test"},
                                       [&](pqxx::transaction_base& tx) { tx.exec(sql); }),
                IsOk());
  }
  int64_t Count(const std::string& sql) { return QueryInt64(*pool_, sql); }
  // Postgres' percentile_disc of `values`.
  int64_t PgPercentile(double fraction, const std::vector<int64_t>& values) {
    std::string array = "{";
    for (size_t i = 0; i < values.size(); ++i) {
      array += (i > 0 ? "," : "") + std::to_string(values[i]);
    }
    array += "}";
    return pool_
        ->WithTransaction(PgCallOptions{"test"},
                          [&](pqxx::transaction_base& tx) -> absl::StatusOr<int64_t> {
                            return tx
                                .exec_params1(
                                    "SELECT percentile_disc($1::float8) WITHIN GROUP "
                                    "(ORDER BY x) FROM unnest($2::bigint[]) x",
                                    fraction, array)[0]
                                .as<int64_t>();
                          })
        .value();
  }

  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgMonitoringStore> store_;
};

LabelValue Bool(bool b) {
  LabelValue v;
  v.kind = LabelValue::Kind::kBool;
  v.number = b ? 1 : 0;
  return v;
}

TEST_F(PredictionLogPgTest, BatchesAreFoundByRequestIdAndGroupedLikePostgres) {
  Migrate();
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int64_t> latency(100, 100'000);
  std::vector<int64_t> latencies_w0, latencies_w1;
  std::vector<PredictionLogBatch> batches;
  for (int k = 0; k < 3; ++k) {
    PredictionLogBatch b("fraud", 1, "ep", 0);
    for (int i = 0; i < 700; ++i) {
      const int64_t ts = 60'000'000 * (1 + (i % 2)) + i;  // windows 60 s and 120 s
      const int64_t l = latency(rng);
      (i % 2 == 0 ? latencies_w0 : latencies_w1).push_back(l);
      b.features_buffer()->append("f");
      b.Add("r" + std::to_string(k) + "-" + std::to_string(i), ts, 0.1 * (i % 10),
            k == 2 ? "yes" : "", l, i % 7 == 0 ? "INTERNAL" : "");
    }
    batches.push_back(std::move(b));
  }
  ASSERT_THAT(store_->AppendPredictions({batches[0], batches[1]}, 0), IsOk());
  // Writer 1 copies its request rows into a partition of its own; readers
  // see both.
  ASSERT_THAT(store_->AppendPredictions({batches[2]}, 1), IsOk());
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests_0"), 1400);
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests_1 WHERE writer = 1"), 700);

  absl::StatusOr<std::vector<KnownPrediction>> known =
      store_->FindPredictions({"r0-5", "r2-6", "nope"});
  ASSERT_THAT(known.status(), IsOk());
  ASSERT_EQ(known->size(), 2u);
  std::sort(known->begin(), known->end(),
            [](const KnownPrediction& a, const KnownPrediction& b) {
              return a.request_id < b.request_id;
            });
  EXPECT_EQ((*known)[0].request_id, "r0-5");
  EXPECT_EQ((*known)[0].model, "fraud");
  EXPECT_FALSE((*known)[0].classification);
  EXPECT_TRUE((*known)[1].classification);

  // Labels: r0-0 joins (model-less), r1-1 joins with the model's own label
  // preferred, "later" has no prediction yet: pending.
  ASSERT_THAT(store_
                  ->PutLabels({{"r0-0", "", Bool(true), 1, 1},
                               {"r1-1", "", Bool(true), 1, 2},
                               {"r1-1", "fraud", Bool(false), 1, 3},
                               {"later", "fraud", Bool(true), 1, 4}})
                  .status(),
              IsOk());
  absl::StatusOr<std::vector<StoredPendingLabel>> pending = store_->ListPendingLabels(10);
  ASSERT_THAT(pending.status(), IsOk());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].key.request_id, "later");

  PerformanceQuery q{"fraud", 0, 0, 1'000'000'000, 60'000'000};
  absl::StatusOr<std::vector<PerformanceGroup>> groups = store_->QueryPerformance(q);
  ASSERT_THAT(groups.status(), IsOk());
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].window_start_micros, 60'000'000);
  EXPECT_EQ((*groups)[0].predictions, 1050);
  EXPECT_EQ((*groups)[0].errors, 3 * 50);  // i even and i % 7 == 0: 0, 14, ..., 686
  EXPECT_EQ((*groups)[0].p50_latency_micros, PgPercentile(0.5, latencies_w0));
  EXPECT_EQ((*groups)[0].p99_latency_micros, PgPercentile(0.99, latencies_w0));
  EXPECT_EQ((*groups)[1].p50_latency_micros, PgPercentile(0.5, latencies_w1));
  EXPECT_EQ((*groups)[1].p99_latency_micros, PgPercentile(0.99, latencies_w1));
  ASSERT_EQ((*groups)[0].labelled, 1);
  EXPECT_EQ((*groups)[0].pairs[0].label.number, 1);
  ASSERT_EQ((*groups)[1].labelled, 1);
  EXPECT_EQ((*groups)[1].pairs[0].label.number, 0);  // the model's own label

  // Pages of batches: more batches than one page holds.
  std::vector<PredictionLogBatch> many;
  for (int k = 0; k < 150; ++k) {
    PredictionLogBatch b("fraud", 2, "ep", 0);
    b.Add("m" + std::to_string(k), 30'000'000, 0.5, "", 10, "");
    many.push_back(std::move(b));
  }
  ASSERT_THAT(store_->AppendPredictions(many, 0), IsOk());
  q.version = 2;
  q.window_micros = 0;
  groups = store_->QueryPerformance(q);
  ASSERT_THAT(groups.status(), IsOk());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].predictions, 150);
}

TEST_F(PredictionLogPgTest, MigrationPacksTheRowsOfTheOldTable) {
  Migrate(2);  // the one-row-per-prediction layout
  // 1,001 rows of fraud@1 (two batches: 1,000 + 1), 2 of other@4.
  Exec("INSERT INTO prediction_log SELECT 'fraud', 1, 'ep', 0, 'q' || i, 1000 + i, "
       "'\\x0a'::bytea || int4send(i), CASE WHEN i % 3 = 0 THEN NULL ELSE i / 10.0 END, "
       "CASE WHEN i % 2 = 0 THEN 'yes' ELSE '' END, i * 2, "
       "CASE WHEN i % 5 = 0 THEN 'UNAVAILABLE' ELSE '' END FROM generate_series(0, 1000) i");
  Exec("INSERT INTO prediction_log VALUES ('other', 4, 'ep2', 1, E'é\\t1', 7, '', 0.5, '', 3, ''),"
       " ('other', 4, 'ep2', 1, 'o2', 8, '\\x00'::bytea, NULL, 'x', 4, '')");
  Migrate();

  std::vector<PredictionLogBatch> read;
  ASSERT_THAT(pool_->WithTransaction(
                  PgCallOptions{"test"},
                  [&](pqxx::transaction_base& tx) -> absl::Status {
                    for (const pqxx::row& r : tx.exec(
                             "SELECT model, version, endpoint, variant, row_count, meta, "
                             "features, min_timestamp_micros, max_timestamp_micros "
                             "FROM prediction_batches ORDER BY batch_id")) {
                      const PredictionBatchKey key{r[0].as<std::string>(), r[1].as<int64_t>(),
                                                   r[2].as<std::string>(), r[3].as<int32_t>()};
                      MLOPS_ASSIGN_OR_RETURN(
                          PredictionLogBatch b,
                          UnpackPredictionBatch(key, r[4].as<size_t>(),
                                                pqxx::binarystring(r[5]).str(),
                                                pqxx::binarystring(r[6]).str()));
                      EXPECT_EQ(r[7].as<int64_t>(), b.timestamp_micros(0));
                      EXPECT_EQ(r[8].as<int64_t>(), b.timestamp_micros(b.size() - 1));
                      read.push_back(std::move(b));
                    }
                    return absl::OkStatus();
                  }),
              IsOk());
  ASSERT_EQ(read.size(), 3u);
  ASSERT_EQ(read[0].size(), 1000u);
  ASSERT_EQ(read[1].size(), 1u);
  for (int i = 0; i <= 1000; ++i) {
    const PredictionLogBatch& b = read[i < 1000 ? 0 : 1];
    const size_t row = static_cast<size_t>(i % 1000);
    SCOPED_TRACE(i);
    EXPECT_EQ(b.request_id(row), "q" + std::to_string(i));
    EXPECT_EQ(b.timestamp_micros(row), 1000 + i);
    EXPECT_EQ(b.features(row), std::string("\x0a\x00\x00", 3) +
                                   static_cast<char>(i >> 8) + static_cast<char>(i & 255));
    if (i % 3 == 0) {
      EXPECT_FALSE(b.score(row).has_value());
    } else {
      EXPECT_EQ(b.score(row), i / 10.0);
    }
    EXPECT_EQ(b.predicted_label(row), i % 2 == 0 ? "yes" : "");
    EXPECT_EQ(b.latency_micros(row), 2 * i);
    EXPECT_EQ(b.error_code(row), i % 5 == 0 ? "UNAVAILABLE" : "");
  }
  EXPECT_EQ(read[2].model(), "other");
  EXPECT_EQ(read[2].variant(), 1);
  EXPECT_EQ(read[2].request_id(0), "é\t1");
  EXPECT_EQ(read[2].features(0), "");
  EXPECT_EQ(read[2].features(1), std::string("\0", 1));

  // The request ids were carried over too.
  absl::StatusOr<std::vector<KnownPrediction>> known = store_->FindPredictions({"q1000", "o2"});
  ASSERT_THAT(known.status(), IsOk());
  ASSERT_EQ(known->size(), 2u);
  for (const KnownPrediction& k : *known) {
    EXPECT_TRUE(k.classification) << k.request_id;  // q1000: 'yes'; o2: 'x'
  }
  absl::StatusOr<std::vector<PerformanceGroup>> groups =
      store_->QueryPerformance({"fraud", 1, 0, 1'000'000, 0});
  ASSERT_THAT(groups.status(), IsOk());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].predictions, 1001);
  EXPECT_EQ((*groups)[0].errors, 201);
  // A new batch after the migrated ones gets a fresh id.
  PredictionLogBatch b("fraud", 1, "ep", 0);
  b.Add("new", 5000, 0.5, "", 1, "");
  ASSERT_THAT(store_->AppendPredictions({b}, 1), IsOk());
  groups = store_->QueryPerformance({"fraud", 1, 0, 1'000'000, 0});
  ASSERT_THAT(groups.status(), IsOk());
  EXPECT_EQ((*groups)[0].predictions, 1002);
  // The migrated rows are writer 0's partition; the new one is writer 1's.
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests_0"), 1003);
  EXPECT_EQ(Count("SELECT count(*) FROM prediction_requests_1"), 1);
  known = store_->FindPredictions({"q1000", "new"});
  ASSERT_THAT(known.status(), IsOk());
  EXPECT_EQ(known->size(), 2u);
}

}  // namespace
}  // namespace mlops::monitoring
