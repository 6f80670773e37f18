#include "services/monitoring/retention_sweeper.h"

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kNow = 1'000 * kHour;

// Batches (model -> max timestamps, 2 request rows each) and labels
// (model -> received times; every label is an orphan) in memory.
class FakeRetentionStore : public RetentionStore {
 public:
  absl::StatusOr<std::vector<std::string>> ListRetainedModels() override {
    std::vector<std::string> models;
    for (const auto& [m, unused] : batches) models.push_back(m);
    return models;
  }
  absl::StatusOr<RetentionDeleted> DeletePredictionBatches(const std::string& model,
                                                           int64_t cutoff, int64_t limit) override {
    ++calls;
    if (fail_model == model) return absl::UnavailableError("down");
    RetentionDeleted d;
    std::vector<int64_t>& v = batches[model];
    for (auto it = v.begin(); it != v.end() && d.batches < limit;) {
      if (*it < cutoff) {
        it = v.erase(it);
        ++d.batches;
        d.requests += 2;
      } else {
        ++it;
      }
    }
    return d;
  }
  absl::StatusOr<int64_t> DeleteOrphanLabels(const std::string& model, int64_t cutoff,
                                             int64_t limit) override {
    label_cutoffs[model] = cutoff;
    int64_t n = 0;
    std::vector<int64_t>& v = labels[model];
    for (auto it = v.begin(); it != v.end() && n < limit;) {
      if (*it < cutoff) {
        it = v.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  std::map<std::string, std::vector<int64_t>> batches;
  std::map<std::string, std::vector<int64_t>> labels;
  std::map<std::string, int64_t> label_cutoffs;
  std::string fail_model;
  int calls = 0;
};

class RecordingCounters : public RetentionCounters {
 public:
  void RetentionDeletedRows(const std::string& table, int64_t n) override { rows[table] += n; }
  void RetentionSweepFinished(int64_t now) override { last_sweep = now; }
  std::map<std::string, int64_t> rows;
  int64_t last_sweep = 0;
};

RetentionSweeperOptions Options(std::map<std::string, int64_t> retention) {
  RetentionSweeperOptions o;
  o.now_micros = [] { return kNow; };
  o.raw_retention_of = [retention](const std::string& m) -> absl::StatusOr<int64_t> {
    auto it = retention.find(m);
    return it == retention.end() ? 168 * kHour : it->second;
  };
  o.batches_per_transaction = 2;
  o.labels_per_transaction = 2;
  o.max_transactions = 3;
  return o;
}

TEST(RetentionSweeperTest, DeletesPerModelRetentionAndCounts) {
  FakeRetentionStore store;
  store.batches["a"] = {kNow - 5 * kHour, kNow - 1 * kHour};
  store.batches["b"] = {kNow - 5 * kHour, kNow - 200 * kHour};  // default 168 h
  store.labels["a"] = {kNow - 3 * kHour, kNow - kHour / 2};
  RecordingCounters counters;
  RetentionSweeper sweeper(&store, &counters, Options({{"a", 2 * kHour}}));
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->batches, 2);
  EXPECT_EQ(d->requests, 4);
  EXPECT_EQ(d->labels, 1);
  EXPECT_EQ(store.batches["a"], std::vector<int64_t>{kNow - kHour});
  EXPECT_EQ(store.batches["b"], std::vector<int64_t>{kNow - 5 * kHour});
  EXPECT_EQ(counters.rows["prediction_batches"], 2);
  EXPECT_EQ(counters.rows["prediction_requests"], 4);
  EXPECT_EQ(counters.rows["ground_truth"], 1);
  EXPECT_EQ(counters.last_sweep, kNow);
}

TEST(RetentionSweeperTest, ModelLessLabelsUseTheLongestRetention) {
  FakeRetentionStore store;
  store.batches["a"] = {};
  store.batches["b"] = {};
  RetentionSweeper sweeper(&store, nullptr,
                           Options({{"a", 2 * kHour}, {"b", 400 * kHour}}));
  ASSERT_TRUE(sweeper.SweepOnce().ok());
  EXPECT_EQ(store.label_cutoffs[""], kNow - 400 * kHour);
  EXPECT_EQ(store.label_cutoffs["a"], kNow - 2 * kHour);
}

TEST(RetentionSweeperTest, WorkPerSweepIsBoundedAndTheBacklogDrainsLater) {
  FakeRetentionStore store;
  store.batches["a"] = std::vector<int64_t>(10, kNow - 500 * kHour);
  RetentionSweeper sweeper(&store, nullptr, Options({}));
  absl::StatusOr<RetentionDeleted> first = sweeper.SweepOnce();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->batches, 6);  // 3 transactions x 2 rows
  EXPECT_EQ(store.batches["a"].size(), 4u);
  absl::StatusOr<RetentionDeleted> second = sweeper.SweepOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->batches, 4);
  EXPECT_TRUE(store.batches["a"].empty());
  absl::StatusOr<RetentionDeleted> third = sweeper.SweepOnce();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->batches, 0);
}

TEST(RetentionSweeperTest, OneModelFailingStillSweepsTheOthers) {
  FakeRetentionStore store;
  store.batches["a"] = {kNow - 500 * kHour};
  store.batches["b"] = {kNow - 500 * kHour};
  store.fail_model = "a";
  RetentionSweeper sweeper(&store, nullptr, Options({}));
  absl::StatusOr<RetentionDeleted> d = sweeper.SweepOnce();
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store.batches["b"].empty());
  EXPECT_EQ(store.batches["a"].size(), 1u);
}

TEST(RetentionLoopTest, SweepsPeriodicallyAndStopsPromptly) {
  FakeRetentionStore store;
  RetentionSweeper sweeper(&store, nullptr, Options({}));
  RetentionLoop loop(&sweeper, std::chrono::milliseconds(5));
  loop.Start();
  for (int i = 0; i < 400 && loop.sweeps() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto start = std::chrono::steady_clock::now();
  loop.Stop();
  EXPECT_GE(loop.sweeps(), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(RetentionLoopTest, StopBeforeTheFirstIntervalDoesNotSweep) {
  FakeRetentionStore store;
  RetentionSweeper sweeper(&store, nullptr, Options({}));
  RetentionLoop loop(&sweeper, std::chrono::hours(1));
  loop.Start();
  loop.Stop();
  EXPECT_EQ(loop.sweeps(), 0);
  EXPECT_EQ(store.calls, 0);
}

}  // namespace
}  // namespace mlops::monitoring
