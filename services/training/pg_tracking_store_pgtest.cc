// Tracking over PgTrackingStore against a real Postgres (MLOPS_TEST_PG_DSN).
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

using ::testing::HasSubstr;

class TrackingPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions options;
    options.search_path = "training";
    options.size = 6;
    pool_ = MakePool(options);
    ASSERT_THAT(RunMigrations(*pool_, "training", EmbeddedMigrations()), IsOk());
    store_ = std::make_unique<PgTrackingStore>(pool_.get());
    tracking_ = std::make_unique<Tracking>(store_.get());
  }
  void TearDown() override {
    tracking_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  training::Run Start(const std::string& experiment, std::map<std::string, std::string> params = {},
            std::map<std::string, std::string> tags = {}, int64_t start = 0) {
    StartRunInput in;
    in.experiment = experiment;
    in.params = std::move(params);
    in.tags = std::move(tags);
    in.start_time_micros = start;
    absl::StatusOr<training::Run> run = tracking_->StartRun(in, "alice");
    EXPECT_THAT(run, IsOk());
    return run.ok() ? *run : training::Run{};
  }

  void Log(const std::string& run_id, const std::string& key, double value, int64_t step) {
    ASSERT_THAT(tracking_->LogMetrics(run_id, 0, {MetricPoint{key, value, step, 0}}), IsOk());
  }

  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgTrackingStore> store_;
  std::unique_ptr<Tracking> tracking_;
};

TEST_F(TrackingPgTest, DefaultExperimentExistsAndNamesAreUnique) {
  MLOPS_ASSERT_OK_AND_ASSIGN(Experiment d, tracking_->GetExperiment("default"));
  EXPECT_EQ(d.name, "default");
  Experiment e;
  e.name = "churn";
  e.tags = {{"team", "growth"}};
  MLOPS_ASSERT_OK(tracking_->CreateExperiment(e, "alice").status());
  EXPECT_THAT(tracking_->CreateExperiment(e, "bob"), StatusIs(absl::StatusCode::kAlreadyExists));
  MLOPS_ASSERT_OK_AND_ASSIGN(Experiment got, tracking_->GetExperiment("churn"));
  EXPECT_EQ(got.tags.at("team"), "growth");
  EXPECT_EQ(got.principal, "alice");
  EXPECT_THAT(tracking_->GetExperiment("nope"), StatusIs(absl::StatusCode::kNotFound));
  MLOPS_ASSERT_OK_AND_ASSIGN(ExperimentPage page, tracking_->ListExperiments("", "", 1));
  ASSERT_EQ(page.experiments.size(), 1u);
  EXPECT_EQ(page.experiments[0].name, "churn");
  MLOPS_ASSERT_OK_AND_ASSIGN(ExperimentPage page2,
                             tracking_->ListExperiments("", page.next_page_token, 1));
  ASSERT_EQ(page2.experiments.size(), 1u);
  EXPECT_EQ(page2.experiments[0].name, "default");
  EXPECT_TRUE(page2.next_page_token.empty());
}

TEST_F(TrackingPgTest, StartRunInUnknownExperimentIsNotFound) {
  StartRunInput in;
  in.experiment = "missing";
  EXPECT_THAT(tracking_->StartRun(in, "alice"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TrackingPgTest, ParamsAreImmutable) {
  training::Run run = Start("default", {{"lr", "0.1"}});
  MLOPS_EXPECT_OK(tracking_->LogParams(run.id, {{"lr", "0.1"}, {"depth", "6"}}));
  EXPECT_THAT(tracking_->LogParams(run.id, {{"lr", "0.2"}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("\"lr\"")));
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run got, tracking_->GetRun(run.id));
  EXPECT_EQ(got.params.at("lr"), "0.1");
  EXPECT_EQ(got.params.at("depth"), "6");
  EXPECT_EQ(got.principal, "alice");
  EXPECT_EQ(got.status, RunStatus::kRunning);
}

TEST_F(TrackingPgTest, LatestMetricIsHighestStepAndHistoryPages) {
  training::Run run = Start("default");
  std::vector<MetricPoint> points;
  for (int i = 0; i < 25; ++i) points.push_back(MetricPoint{"loss", 1.0 / (i + 1), i, 1000 + i});
  points.push_back(MetricPoint{"loss", 9.0, 3, 5000});  // late point of an old step
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t n, tracking_->LogMetrics(run.id, 0, points));
  EXPECT_EQ(n, 26);
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run got, tracking_->GetRun(run.id));
  ASSERT_EQ(got.metrics.size(), 1u);
  EXPECT_EQ(got.metrics[0].step, 24);
  EXPECT_DOUBLE_EQ(got.metrics[0].value, 1.0 / 25);
  EXPECT_DOUBLE_EQ(got.metrics[0].max, 9.0);
  EXPECT_EQ(got.metrics[0].count, 26);
  std::vector<MetricPoint> all;
  std::string token;
  for (int page = 0; page < 10; ++page) {
    MLOPS_ASSERT_OK_AND_ASSIGN(MetricHistoryPage p,
                               tracking_->GetMetricHistory(run.id, "loss", token, 10));
    all.insert(all.end(), p.points.begin(), p.points.end());
    token = p.next_page_token;
    if (token.empty()) break;
  }
  ASSERT_EQ(all.size(), 26u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(std::make_pair(all[i - 1].step, all[i - 1].timestamp_micros),
              std::make_pair(all[i].step, all[i].timestamp_micros));
  }
}

TEST_F(TrackingPgTest, EndedRunRejectsMetricsAndParamsButTakesTags) {
  training::Run run = Start("default");
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run ended, tracking_->EndRun(run.id, RunStatus::kFailed, 0, "oom"));
  EXPECT_EQ(ended.status, RunStatus::kFailed);
  EXPECT_EQ(ended.failure_reason, "oom");
  EXPECT_THAT(tracking_->LogMetrics(run.id, 0, {MetricPoint{"loss", 1, 0, 0}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(tracking_->LogParams(run.id, {{"a", "b"}}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  MLOPS_EXPECT_OK(tracking_->SetTags(run.id, {{"note", "x"}}, {}));
  MLOPS_EXPECT_OK(tracking_->EndRun(run.id, RunStatus::kFailed, 0, "").status());
  EXPECT_THAT(tracking_->EndRun(run.id, RunStatus::kSucceeded, 0, ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(tracking_->CancelRun(run.id, ""), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(tracking_->GetRun("run-ffffffffffffffff"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TrackingPgTest, ConcurrentLogMetricsKeepEveryPoint) {
  training::Run run = Start("default");
  constexpr int kThreads = 4, kBatches = 20, kPoints = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<MetricPoint> batch;
        for (int i = 0; i < kPoints; ++i) {
          int64_t step = (b * kPoints + i) * kThreads + t;
          batch.push_back(MetricPoint{"loss", static_cast<double>(step), step, 1});
          batch.push_back(MetricPoint{"acc", -static_cast<double>(step), step, 1});
        }
        EXPECT_THAT(tracking_->LogMetrics(run.id, b, batch), IsOk());
      }
    });
  }
  for (auto& th : threads) th.join();
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run got, tracking_->GetRun(run.id));
  ASSERT_EQ(got.metrics.size(), 2u);
  const int64_t total = kThreads * kBatches * kPoints;
  for (const MetricSummary& m : got.metrics) {
    EXPECT_EQ(m.count, total) << m.key;
    EXPECT_EQ(m.step, total - 1) << m.key;
  }
  EXPECT_EQ(got.metrics[1].value, static_cast<double>(total - 1));  // "loss" sorts after "acc"
}

TEST_F(TrackingPgTest, ListRunsFiltersAndOrders) {
  Experiment e;
  e.name = "exp_a";
  MLOPS_ASSERT_OK(tracking_->CreateExperiment(e, "alice").status());
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    training::Run r = Start(i < 6 ? "exp_a" : "default", {{"depth", std::to_string(i % 3)}},
                  {{"parity", i % 2 ? "odd" : "even"}}, 1000 + i);
    ids.push_back(r.id);
    if (i < 8) Log(r.id, "auc", 0.5 + 0.01 * i, 1);
  }
  MLOPS_ASSERT_OK(tracking_->EndRun(ids[0], RunStatus::kSucceeded, 0, "").status());

  auto list = [&](const RunFilter& f) {
    std::vector<std::string> out;
    absl::StatusOr<RunListPage> page = tracking_->ListRuns(f, "", 100);
    EXPECT_THAT(page, IsOk());
    if (page.ok()) for (const training::Run& r : page->runs) out.push_back(r.id);
    return out;
  };
  RunFilter by_exp;
  by_exp.experiments = {"exp_a"};
  EXPECT_EQ(list(by_exp).size(), 6u);
  RunFilter by_status;
  by_status.statuses = {RunStatus::kSucceeded};
  EXPECT_EQ(list(by_status), std::vector<std::string>{ids[0]});
  RunFilter by_param;
  by_param.params = {{"depth", "1"}};
  EXPECT_EQ(list(by_param), (std::vector<std::string>{ids[7], ids[4], ids[1]}));
  RunFilter by_metric;
  by_metric.metrics = {{"auc", Comparison::kGreater, 0.555}};
  EXPECT_EQ(list(by_metric), (std::vector<std::string>{ids[7], ids[6]}));
  RunFilter by_tag;
  by_tag.tags = {{"parity", "odd"}};
  by_tag.experiments = {"exp_a"};
  EXPECT_EQ(list(by_tag), (std::vector<std::string>{ids[5], ids[3], ids[1]}));
  RunFilter order;
  order.order_metric = "auc";
  order.ascending = true;
  std::vector<std::string> ordered = list(order);
  // The 8 runs with auc ascending, then the 2 without it by start time.
  EXPECT_EQ(ordered, (std::vector<std::string>{ids[0], ids[1], ids[2], ids[3], ids[4], ids[5],
                                               ids[6], ids[7], ids[8], ids[9]}));
  RunFilter unknown;
  unknown.experiments = {"nope"};
  EXPECT_THAT(tracking_->ListRuns(unknown, "", 10), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TrackingPgTest, ListRunsPagingIsStableAcrossPhases) {
  std::vector<std::string> ids;
  for (int i = 0; i < 13; ++i) {
    training::Run r = Start("default", {}, {}, 5000 + i / 2);  // equal start times: ties by run id
    if (i % 3 != 0) Log(r.id, "rmse", static_cast<double>(i % 4), 0);  // equal values too
    ids.push_back(r.id);
  }
  RunFilter f;
  f.order_metric = "rmse";
  MLOPS_ASSERT_OK_AND_ASSIGN(RunListPage full, tracking_->ListRuns(f, "", 100));
  ASSERT_EQ(full.runs.size(), 13u);
  std::vector<std::string> paged;
  std::string token;
  for (int page = 0; page < 20; ++page) {
    MLOPS_ASSERT_OK_AND_ASSIGN(RunListPage p, tracking_->ListRuns(f, token, 3));
    for (const training::Run& r : p.runs) paged.push_back(r.id);
    token = p.next_page_token;
    if (token.empty()) break;
  }
  std::vector<std::string> expected;
  for (const training::Run& r : full.runs) expected.push_back(r.id);
  EXPECT_EQ(paged, expected);
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), 13u);
  RunFilter other = f;
  other.ascending = true;
  MLOPS_ASSERT_OK_AND_ASSIGN(RunListPage first, tracking_->ListRuns(f, "", 3));
  EXPECT_THAT(tracking_->ListRuns(other, first.next_page_token, 3),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TrackingPgTest, ArtifactsAreContentAddressedAndDeduplicated) {
  training::Run a = Start("default");
  training::Run b = Start("default");
  std::string content(3 * 1024 * 1024 + 17, 'x');
  content[5] = 'y';
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactRef ra, tracking_->PutArtifact(a.id, "model/m.bin", "", content));
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactRef rb, tracking_->PutArtifact(b.id, "copy.bin", "", content));
  EXPECT_EQ(ra.sha256, rb.sha256);
  EXPECT_EQ(ra.sha256, Sha256Hex(content));
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactRef again,
                             tracking_->PutArtifact(a.id, "model/m.bin", "", content));
  EXPECT_EQ(again.created_at_micros, ra.created_at_micros);
  EXPECT_THAT(tracking_->PutArtifact(a.id, "model/m.bin", "", "other"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(tracking_->PutArtifact(a.id, "x", "", "abc", std::string(64, '0')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t blobs,
                             pool_->WithTransaction([](pqxx::transaction_base& tx) {
                               return tx.exec1("SELECT count(*) FROM blob")[0].as<int64_t>();
                             }));
  EXPECT_EQ(blobs, 1);  // stored once for both runs
  std::string back;
  for (int i = 0; i < 4; ++i) {
    MLOPS_ASSERT_OK_AND_ASSIGN(std::string chunk, tracking_->ReadChunk(ra.sha256, i));
    back += chunk;
  }
  EXPECT_EQ(back, content);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<ArtifactRef> refs, tracking_->ListArtifacts(a.id));
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].path, "model/m.bin");
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactRef found, tracking_->FindArtifact("", b.id, "copy.bin"));
  EXPECT_EQ(found.size_bytes, static_cast<int64_t>(content.size()));
  EXPECT_THAT(tracking_->FindArtifact("", b.id, "missing"), StatusIs(absl::StatusCode::kNotFound));
}

// Every point of run/key through GetMetricHistory pages of page_size.
std::vector<MetricPoint> ReadHistory(Tracking& tracking, const std::string& run_id,
                                     const std::string& key, int page_size) {
  std::vector<MetricPoint> all;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    absl::StatusOr<MetricHistoryPage> p = tracking.GetMetricHistory(run_id, key, token, page_size);
    EXPECT_THAT(p, IsOk());
    if (!p.ok()) break;
    EXPECT_LE(p->points.size(), static_cast<size_t>(page_size));
    all.insert(all.end(), p->points.begin(), p->points.end());
    token = p->next_page_token;
    if (token.empty()) break;
  }
  return all;
}

// Points of many messages, steps out of order across messages, duplicates
// of (step, timestamp) in one message and across messages: the history is
// every point ordered by (step, timestamp), duplicates in logged order,
// whatever the page size.
TEST_F(TrackingPgTest, HistoryOverManyBlocksIsOrderedWithDuplicatesInLoggedOrder) {
  training::Run run = Start("default");
  std::vector<MetricPoint> logged;  // value = logged order
  const int64_t steps[] = {50, 10, 30, 10, 70, 0, 30};
  for (int m = 0; m < 7; ++m) {
    std::vector<MetricPoint> batch;
    for (int i = 0; i < 40; ++i) {
      const int64_t step = steps[m] + i % 20;   // each step twice per message
      MetricPoint p{"loss", static_cast<double>(logged.size()), step, 1000 + step % 3};
      batch.push_back(p);
      logged.push_back(p);
      batch.push_back(MetricPoint{"other", 0, step, 1});
    }
    ASSERT_THAT(tracking_->LogMetrics(run.id, m, batch), IsOk());
  }
  std::vector<MetricPoint> want = logged;
  std::stable_sort(want.begin(), want.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return std::make_pair(a.step, a.timestamp_micros) < std::make_pair(b.step, b.timestamp_micros);
  });
  for (int page_size : {1, 7, 40, 1000}) {
    std::vector<MetricPoint> got = ReadHistory(*tracking_, run.id, "loss", page_size);
    ASSERT_EQ(got.size(), want.size()) << page_size;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].step, want[i].step) << page_size << " " << i;
      ASSERT_EQ(got[i].timestamp_micros, want[i].timestamp_micros) << page_size << " " << i;
      ASSERT_EQ(got[i].value, want[i].value) << page_size << " " << i;
      ASSERT_EQ(got[i].key, "loss");
    }
  }
  EXPECT_EQ(ReadHistory(*tracking_, run.id, "other", 100).size(), logged.size());
  EXPECT_TRUE(ReadHistory(*tracking_, run.id, "missing", 100).empty());
  EXPECT_THAT(tracking_->GetMetricHistory("run-ffffffffffffffff", "loss", "", 10),
              StatusIs(absl::StatusCode::kNotFound));
}

// 10000 points of one key in one message (more than a block holds), values
// and steps exact, including values that only round-trip in binary.
TEST_F(TrackingPgTest, LargeMessageOfOneKeyReadsBackExactly) {
  training::Run run = Start("default");
  std::vector<MetricPoint> batch;
  for (int i = 0; i < 10000; ++i) {
    batch.push_back(MetricPoint{"acc", 1.0 / 3 + i * 1e-17 - 5e300 * (i % 2), 9999 - i,
                                1700000000000000 + i});
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t n, tracking_->LogMetrics(run.id, 0, batch));
  EXPECT_EQ(n, 10000);
  std::vector<MetricPoint> got = ReadHistory(*tracking_, run.id, "acc", 3333);
  ASSERT_EQ(got.size(), 10000u);
  for (int i = 0; i < 10000; ++i) {
    const MetricPoint& want = batch[9999 - i];
    ASSERT_EQ(got[i].step, i);
    ASSERT_EQ(got[i].timestamp_micros, want.timestamp_micros);
    ASSERT_EQ(got[i].value, want.value) << i;
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run r, tracking_->GetRun(run.id));
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].count, 10000);
  EXPECT_EQ(r.metrics[0].step, 9999);
}

// A schema at migration 0004 with points in the old one-row-per-point
// table: after the block migration every point reads back in the same
// order, and new points join them.
TEST_F(TrackingPgTest, BlockMigrationKeepsExistingPoints) {
  PgPoolOptions options;
  options.search_path = "training_old";
  options.size = 2;
  std::unique_ptr<PgPool> pool = MakePool(options);
  std::vector<Migration> all = EmbeddedMigrations();
  std::vector<Migration> before;
  for (const Migration& m : all) {
    if (m.version < 5) before.push_back(m);
  }
  ASSERT_THAT(RunMigrations(*pool, "training_old", before), IsOk());
  const std::string id = "run-00000000000000aa";
  MLOPS_ASSERT_OK(pool->WithTransaction([&](pqxx::transaction_base& tx) {
    tx.exec_params("INSERT INTO run (run_id, experiment, status, principal, created_at_micros, "
                   "start_time_micros) VALUES ($1, 'default', 2, 'alice', 1, 1)",
                   id);
    // 9000 points of "loss" (two blocks), logged with steps descending, and
    // duplicates of step 5 whose values record their logged order.
    tx.exec_params("INSERT INTO metric (run_id, key, step, timestamp_micros, value) "
                   "SELECT $1, 'loss', 9000 - g, 7, g FROM generate_series(1, 9000) g",
                   id);
    tx.exec_params("INSERT INTO metric (run_id, key, step, timestamp_micros, value) "
                   "SELECT $1, 'acc', 5, 3, g * 0.5 FROM generate_series(1, 3) g",
                   id);
    tx.exec_params("INSERT INTO run_latest_metric VALUES ($1, 'acc', 1.5, 5, 3, 0.5, 1.5, 3)", id);
    // Points of a run that does not exist (unreadable before, dropped).
    tx.exec("INSERT INTO metric (run_id, key, step, timestamp_micros, value) "
            "VALUES ('run-00000000000000bb', 'loss', 1, 1, 1)");
  }));
  ASSERT_THAT(RunMigrations(*pool, "training_old", all), IsOk());
  PgTrackingStore store(pool.get());
  Tracking tracking(&store);
  std::vector<MetricPoint> loss = ReadHistory(tracking, id, "loss", 1000);
  ASSERT_EQ(loss.size(), 9000u);
  for (int i = 0; i < 9000; ++i) {
    ASSERT_EQ(loss[i].step, i);
    ASSERT_EQ(loss[i].value, 9000 - i);
  }
  ASSERT_THAT(tracking.LogMetrics(id, 0, {MetricPoint{"acc", 2.0, 5, 3}, MetricPoint{"acc", 0, 4, 9}}),
              IsOk());
  std::vector<MetricPoint> acc = ReadHistory(tracking, id, "acc", 2);
  ASSERT_EQ(acc.size(), 5u);
  EXPECT_EQ(acc[0].step, 4);
  for (int i = 1; i < 5; ++i) EXPECT_EQ(acc[i].value, i * 0.5) << i;  // old ones, then the new
  MLOPS_ASSERT_OK_AND_ASSIGN(training::Run r, tracking.GetRun(id));
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].count, 5);
  EXPECT_EQ(r.metrics[0].value, 2.0);
  MLOPS_ASSERT_OK_AND_ASSIGN(int64_t orphans, pool->WithTransaction([](pqxx::transaction_base& tx) {
    return tx.exec1("SELECT count(*) FROM metric_block WHERE run_id = 'run-00000000000000bb'")[0]
        .as<int64_t>();
  }));
  EXPECT_EQ(orphans, 0);
}

}  // namespace
}  // namespace mlops::training
