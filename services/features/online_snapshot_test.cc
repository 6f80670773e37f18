#include "services/features/online_snapshot.h"

#include <atomic>
#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/point_in_time_join.h"
#include "services/features/testing/expect_values.h"
#include "services/features/testing/random_events.h"
#include "services/features/testing/rows.h"

namespace mlops::features {
namespace {

using ::mlops::features::testing::BuildTable;
using ::mlops::features::testing::RandomKey;
using ::mlops::features::testing::RandomRows;
using ::mlops::features::testing::RandomSchema;
using ::mlops::features::testing::RandomView;
using ::mlops::features::testing::SameValue;
using ::mlops::features::testing::Ts;
using ::mlops::features::testing::ValueAt;

// The skew test: random entities and times; materialize as of each time and
// compare every online value with the historical value for (entity, time),
// bit for bit.
TEST(SkewTest, OnlineValuesEqualHistoricalValuesBitForBit) {
  ThreadPool pool(2);
  for (DataType key_type : {DataType::kInt64, DataType::kString}) {
    std::mt19937_64 rng(key_type == DataType::kInt64 ? 11 : 12);
    const FeatureViewDefinition def = RandomView("skew", /*ttl=*/5);
    const auto table = BuildTable(def, RandomSchema(key_type), RandomRows(rng, key_type, 2000, 40));
    ASSERT_NE(table, nullptr);
    const FeatureEvaluator evaluator(table);
    auto join = PointInTimeJoin::Create({JoinViewRequest{table, {}}}, &pool);
    ASSERT_TRUE(join.ok());
    std::uniform_int_distribution<int64_t> time(-3, 45);
    size_t compared = 0;
    for (int round = 0; round < 25; ++round) {
      const int64_t as_of = time(rng);
      const auto snapshot = OnlineSnapshot::Materialize(evaluator, as_of, round % 2 ? &pool : nullptr);
      EXPECT_EQ(snapshot->as_of_micros(), as_of);
      JoinInputChunk input;
      input.entity_keys = ColumnVector(key_type);
      std::vector<EntityKey> keys;
      for (int i = 0; i < 30; ++i) {
        const Value k = RandomKey(rng, key_type, -2, 42);
        if (key_type == DataType::kInt64) {
          keys.push_back(std::get<int64_t>(k));
          input.entity_keys.values.ints.push_back(std::get<int64_t>(k));
        } else {
          keys.push_back(std::get<std::string>(k));
          input.entity_keys.values.strings.push_back(std::get<std::string>(k));
        }
        input.timestamps.push_back(as_of);
      }
      auto historical = (*join)->JoinChunk(std::move(input));
      ASSERT_TRUE(historical.ok());
      for (size_t i = 0; i < keys.size(); ++i) {
        const std::vector<FeatureValue> online = snapshot->Lookup(keys[i]);
        ASSERT_EQ(online.size(), def.features.size());
        for (size_t f = 0; f < online.size(); ++f) {
          ASSERT_TRUE(SameValue(online[f], ValueAt(historical->features[f], i)))
              << def.features[f].name << " as of " << as_of << " entity " << i;
          ++compared;
        }
      }
    }
    EXPECT_EQ(compared, 25u * 30u * def.features.size());
  }
}

SourceSchema Schema() {
  return SourceSchema{{{"id", DataType::kInt64, false},
                       {"ts", DataType::kTimestamp, false},
                       {"x", DataType::kDouble, true}}};
}

FeatureViewDefinition View() {
  FeatureViewDefinition d;
  d.name = "v";
  d.version = 3;
  d.entity_column = "id";
  d.event_time_column = "ts";
  d.source_dataset = "events";
  d.features = {{"x", "x", Aggregation::kRaw, 0}, {"x_count", "x", Aggregation::kCount, 100}};
  return d;
}

TEST(OnlineSnapshotTest, LeavesOutEntitiesWithOnlyLaterEvents) {
  const auto table = BuildTable(View(), Schema(),
                                {{int64_t{1}, Ts(10), 1.0}, {int64_t{2}, Ts(30), 2.0},
                                 {int64_t{3}, Ts(20), std::monostate{}}});
  const auto snapshot = OnlineSnapshot::Materialize(FeatureEvaluator(table), 20);
  EXPECT_EQ(snapshot->view_name(), "v");
  EXPECT_EQ(snapshot->view_version(), 3);
  EXPECT_EQ(snapshot->num_entities(), 2u);
  EXPECT_EQ(snapshot->FindRow(int64_t{2}), -1);
  EXPECT_EQ(snapshot->Lookup(int64_t{2})[0].status, ValueStatus::kEntityUnknown);
  EXPECT_EQ(snapshot->Lookup(std::string("1"))[0].status, ValueStatus::kEntityUnknown);
  const auto one = snapshot->Lookup(int64_t{1});
  EXPECT_EQ(std::get<double>(one[0].value), 1.0);
  EXPECT_EQ(std::get<int64_t>(one[1].value), 1);
  EXPECT_EQ(snapshot->Lookup(int64_t{3})[0].status, ValueStatus::kNull);
  EXPECT_EQ(snapshot->FindFeature("x_count"), 1);
  EXPECT_EQ(snapshot->FindFeature("nope"), -1);
  EXPECT_GT(snapshot->MemoryBytes(), 0u);
}

TEST(OnlineSnapshotTest, FromRowsServesStoredValues) {
  ColumnVector keys(DataType::kString);
  keys.values.strings = {"a", "b"};
  FeatureColumn col(DataType::kDouble);
  col.Resize(2);
  col.values.doubles[0] = 4.5;
  col.status = {ValueStatus::kPresent, ValueStatus::kExpired};
  auto snapshot = OnlineSnapshot::FromRows("v", 2, 100, {"x"}, keys, {col});
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(std::get<double>((*snapshot)->Lookup(std::string("a"))[0].value), 4.5);
  EXPECT_EQ((*snapshot)->Lookup(std::string("b"))[0].status, ValueStatus::kExpired);
  EXPECT_EQ((*snapshot)->Lookup(std::string("c"))[0].status, ValueStatus::kEntityUnknown);
}

TEST(OnlineSnapshotTest, FromRowsRejectsInconsistentRows) {
  ColumnVector keys(DataType::kInt64);
  keys.values.ints = {1, 1};
  FeatureColumn col(DataType::kDouble);
  col.Resize(2);
  EXPECT_EQ(OnlineSnapshot::FromRows("v", 1, 0, {"x"}, keys, {col}).status().code(),
            absl::StatusCode::kInvalidArgument);  // repeated key
  keys.values.ints = {1, 2};
  EXPECT_EQ(OnlineSnapshot::FromRows("v", 1, 0, {"x", "y"}, keys, {col}).status().code(),
            absl::StatusCode::kInvalidArgument);  // names vs columns
  FeatureColumn short_col(DataType::kDouble);
  short_col.Resize(1);
  EXPECT_EQ(OnlineSnapshot::FromRows("v", 1, 0, {"x"}, keys, {short_col}).status().code(),
            absl::StatusCode::kInvalidArgument);
  keys.nulls = {0, 1};
  EXPECT_EQ(OnlineSnapshot::FromRows("v", 1, 0, {"x"}, keys, {col}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ColumnVector double_keys(DataType::kDouble);
  EXPECT_EQ(OnlineSnapshot::FromRows("v", 1, 0, {}, double_keys, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OnlineSnapshotSlotTest, ReadersSeeWholeSnapshotsWhileWriterSwaps) {
  const auto table = BuildTable(View(), Schema(),
                                {{int64_t{1}, Ts(10), 1.0}, {int64_t{1}, Ts(20), 2.0}});
  const FeatureEvaluator evaluator(table);
  OnlineSnapshotSlot slot;
  EXPECT_EQ(slot.Load(), nullptr);
  slot.Store(OnlineSnapshot::Materialize(evaluator, 10));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    for (int i = 0; i < 200000 && !stop.load(); ++i) {
      const auto s = slot.Load();
      const double x = std::get<double>(s->Lookup(int64_t{1})[0].value);
      // Each snapshot is consistent with its own time.
      if (x != (s->as_of_micros() >= 20 ? 2.0 : 1.0)) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 2000; ++i) slot.Store(OnlineSnapshot::Materialize(evaluator, 10 + i % 20));
  stop.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace mlops::features
