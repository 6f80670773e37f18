#include "services/features/incremental_state.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/features/feature_evaluator.h"
#include "services/features/online_snapshot.h"
#include "services/features/testing/random_events.h"
#include "services/features/testing/rows.h"
#include "services/features/thread_pool.h"

namespace mlops::features {
namespace {

using testing::BuildTable;
using testing::RandomRows;
using testing::RandomSchema;
using testing::RandomView;
using testing::Row;
using testing::RowsToBatch;

// Per snapshot row, the time of the entity's last event at or before as_of.
std::vector<int64_t> LastEvents(const OnlineSnapshot& snapshot, const EventTable& table) {
  std::vector<int64_t> out(snapshot.num_entities(), 0);
  const int64_t* times = table.event_times().data();
  for (size_t r = 0; r < out.size(); ++r) {
    const int32_t e = table.entities().Find(snapshot.keys().KeyAt(static_cast<int32_t>(r)));
    const int64_t* begin = times + table.EntityBegin(e);
    const int64_t* hi = std::upper_bound(begin, times + table.EntityEnd(e), snapshot.as_of_micros());
    if (hi != begin) out[r] = *(hi - 1);
  }
  return out;
}

// A FULL materialization of `rows` as of as_of.
struct Full {
  std::shared_ptr<const EventTable> table;
  std::shared_ptr<const OnlineSnapshot> snapshot;
  std::vector<int64_t> last_events;
};

Full MaterializeFull(const FeatureViewDefinition& def, const SourceSchema& schema,
                     const std::vector<Row>& rows, int64_t as_of) {
  Full f;
  f.table = BuildTable(def, schema, rows, 997);
  f.snapshot = OnlineSnapshot::Materialize(FeatureEvaluator(f.table), as_of);
  f.last_events = LastEvents(*f.snapshot, *f.table);
  return f;
}

// Every entity's statuses, value bits and last event time are equal.
void ExpectSameSnapshot(const Full& full, const IncrementalState& inc, const std::string& where) {
  const OnlineSnapshot& a = *full.snapshot;
  const OnlineSnapshot& b = *inc.snapshot();
  ASSERT_EQ(a.num_entities(), b.num_entities()) << where;
  ASSERT_EQ(a.num_features(), b.num_features()) << where;
  EXPECT_EQ(a.as_of_micros(), b.as_of_micros()) << where;
  ASSERT_EQ(inc.last_event_micros().size(), b.num_entities()) << where;
  int mismatches = 0;
  for (size_t r = 0; r < a.num_entities() && mismatches < 5; ++r) {
    const auto ra = static_cast<int32_t>(r);
    const EntityKey key = a.keys().KeyAt(ra);
    const int32_t rb = b.FindRow(key);
    ASSERT_GE(rb, 0) << where << " row " << r;
    EXPECT_EQ(full.last_events[r], inc.last_event_micros()[rb]) << where << " row " << r;
    for (size_t f = 0; f < a.num_features(); ++f) {
      const bool same_status = a.StatusAt(ra, f) == b.StatusAt(rb, f);
      bool same_value = true;
      if (same_status && a.StatusAt(ra, f) == ValueStatus::kPresent) {
        if (a.type(f) == DataType::kString) {
          same_value = a.StringAt(ra, f) == b.StringAt(rb, f);
        } else if (a.type(f) == DataType::kDouble) {
          const double x = a.DoubleAt(ra, f);
          const double y = b.DoubleAt(rb, f);
          same_value = std::memcmp(&x, &y, sizeof(double)) == 0;
        } else {
          same_value = a.IntAt(ra, f) == b.IntAt(rb, f);
        }
      }
      if (!same_status || !same_value) {
        ++mismatches;
        ADD_FAILURE() << where << ": entity row " << r << " feature " << a.feature_names()[f]
                      << " differs";
      }
    }
  }
}

TEST(IncrementalStateTest, AppendsEqualFullRunBitForBit) {
  for (DataType key_type : {DataType::kInt64, DataType::kString}) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      std::mt19937_64 rng(seed);
      const SourceSchema schema = RandomSchema(key_type);
      const FeatureViewDefinition def = RandomView("v", seed % 2 == 0 ? 6 : 0);
      ASSERT_EQ(ViewSourceColumns(def).size(), schema.columns.size());
      // The first version: keys [0, 30); appends bring late events (times
      // anywhere in [0, 40)), repeats of old keys and keys [30, 60) new.
      std::vector<Row> rows = RandomRows(rng, key_type, 300, 30);
      ThreadPool pool(2);
      int64_t as_of = 12;
      Full full = MaterializeFull(def, schema, rows, as_of);
      std::shared_ptr<const IncrementalState> state =
          IncrementalState::FromFull(full.table, full.snapshot, full.last_events, as_of);
      ExpectSameSnapshot(full, *state, "after FULL");
      const int64_t as_ofs[] = {12, 15, 15, 22, 31, 38, 60};
      for (int64_t next_as_of : as_ofs) {
        std::vector<Row> added =
            RandomRows(rng, key_type, std::uniform_int_distribution<size_t>(0, 60)(rng), 60);
        const ColumnBatch batch = RowsToBatch(schema, added);
        rows.insert(rows.end(), added.begin(), added.end());
        absl::StatusOr<IncrementalState::Update> update =
            state->Apply(batch, next_as_of, next_as_of % 2 ? &pool : nullptr);
        ASSERT_TRUE(update.ok()) << update.status();
        state = update->state;
        const std::string where = "seed " + std::to_string(seed) + " as_of " +
                                  std::to_string(next_as_of) + " rows " +
                                  std::to_string(rows.size());
        ExpectSameSnapshot(MaterializeFull(def, schema, rows, next_as_of), *state, where);
      }
    }
  }
}

TEST(IncrementalStateTest, RecomputesOnlyTouchedAndDueEntities) {
  const SourceSchema schema{{{"id", DataType::kInt64, false},
                              {"ts", DataType::kTimestamp, false},
                              {"x", DataType::kDouble, true}}};
  // TTL 3: entity 3 is EXPIRED from 5 on, and stays so: not a change.
  FeatureViewDefinition def = RandomView("v", 3);
  def.features = {{"x", "x", Aggregation::kRaw, 0}, {"x_sum_5", "x", Aggregation::kSum, 5}};
  using testing::Ts;
  const std::vector<Row> rows = {
      {int64_t{1}, Ts(10), 1.0},
      {int64_t{2}, Ts(10), 2.0},
      {int64_t{3}, Ts(1), 3.0},  // out of the window already
  };
  Full full = MaterializeFull(def, schema, rows, 10);
  auto state = IncrementalState::FromFull(full.table, full.snapshot, full.last_events, 10);
  // Entity 1 gets a row at 11: only it is recomputed as of 12.
  const std::vector<Row> added = {{int64_t{1}, Ts(11), 4.0}};
  auto early = state->Apply(RowsToBatch(schema, added), 12);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_EQ(early->entities_recomputed, 1);
  EXPECT_EQ(early->changed_rows, std::vector<int32_t>{full.snapshot->FindRow(int64_t{1})});
  auto later = early->state->Apply(RowsToBatch(schema, {}), 15);
  ASSERT_TRUE(later.ok()) << later.status();
  // Entities 1 and 2: their events at 10 leave the window at 15; entity 3
  // (nothing in any window, no TTL) is not recomputed.
  EXPECT_EQ(later->entities_recomputed, 2);
  std::vector<int32_t> due = {full.snapshot->FindRow(int64_t{1}),
                              full.snapshot->FindRow(int64_t{2})};
  std::sort(due.begin(), due.end());
  EXPECT_EQ(later->changed_rows, due) << "the rows to write to the online store";
  std::vector<Row> all = rows;
  all.insert(all.end(), added.begin(), added.end());
  ExpectSameSnapshot(MaterializeFull(def, schema, all, 15), *later->state, "as of 15");
}

TEST(IncrementalStateTest, FeaturesOfTheKeyAndTimeColumnsEqualFullRun) {
  const SourceSchema schema{{{"id", DataType::kString, false},
                             {"ts", DataType::kTimestamp, false},
                             {"x", DataType::kDouble, true}}};
  FeatureViewDefinition def = RandomView("v", 4);
  def.features = {{"id_raw", "id", Aggregation::kRaw, 0},
                  {"ts_raw", "ts", Aggregation::kRaw, 0},
                  {"ts_max_6", "ts", Aggregation::kMax, 6},
                  {"id_count_3", "id", Aggregation::kCount, 3},
                  {"x_last_9", "x", Aggregation::kLast, 9}};
  std::mt19937_64 rng(5);
  auto rows_of = [&](size_t n, int64_t keys) {
    std::vector<Row> out;
    for (const Row& r : RandomRows(rng, DataType::kString, n, keys)) out.push_back({r[0], r[1], r[2]});
    return out;
  };
  std::vector<Row> rows = rows_of(200, 15);
  Full full = MaterializeFull(def, schema, rows, 10);
  auto state = IncrementalState::FromFull(full.table, full.snapshot, full.last_events, 10);
  for (int64_t as_of : {10, 14, 20, 33, 41}) {
    std::vector<Row> added = rows_of(40, 25);
    rows.insert(rows.end(), added.begin(), added.end());
    auto update = state->Apply(RowsToBatch(schema, added), as_of);
    ASSERT_TRUE(update.ok()) << update.status();
    state = update->state;
    ExpectSameSnapshot(MaterializeFull(def, schema, rows, as_of), *state,
                       "as of " + std::to_string(as_of));
  }
}

TEST(IncrementalStateTest, RejectsGoingBackInTimeAndBadBatches) {
  const SourceSchema schema = RandomSchema(DataType::kInt64);
  const FeatureViewDefinition def = RandomView("v", 0);
  std::mt19937_64 rng(3);
  const std::vector<Row> rows = RandomRows(rng, DataType::kInt64, 50, 5);
  Full full = MaterializeFull(def, schema, rows, 20);
  auto state = IncrementalState::FromFull(full.table, full.snapshot, full.last_events, 20);
  EXPECT_EQ(state->Apply(RowsToBatch(schema, {}), 19).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ColumnBatch wrong = RowsToBatch(schema, rows);
  wrong.columns.pop_back();
  EXPECT_EQ(state->Apply(wrong, 20).status().code(), absl::StatusCode::kInvalidArgument);
  ColumnBatch wrong_type = RowsToBatch(RandomSchema(DataType::kString), {});
  EXPECT_EQ(state->Apply(wrong_type, 20).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IncrementalStateTest, RetainsOnlyWhatLaterRunsCanReadAndCompacts) {
  // Long history, short windows: the state keeps ~1 event per entity plus
  // the window's, not the history.
  const SourceSchema schema = RandomSchema(DataType::kInt64);
  const FeatureViewDefinition def = RandomView("v", 0);
  std::mt19937_64 rng(7);
  std::vector<Row> rows = RandomRows(rng, DataType::kInt64, 200000, 500);
  std::uniform_int_distribution<int64_t> time(0, 999999);
  for (Row& r : rows) r[1] = testing::Ts(time(rng));
  Full full = MaterializeFull(def, schema, rows, 900000);
  auto state = IncrementalState::FromFull(full.table, full.snapshot, full.last_events, 900000);
  EXPECT_EQ(state->num_segments(), 1u);
  EXPECT_LT(state->held_events(), 200000 / 4);  // compacted at once
  EXPECT_LE(state->held_events(), std::max<int64_t>(2 * state->retained_events(), 65536));
  for (int64_t as_of : {900100, 950000, 999999}) {
    std::vector<Row> added = RandomRows(rng, DataType::kInt64, 5000, 600);
    for (Row& r : added) r[1] = testing::Ts(time(rng));
    rows.insert(rows.end(), added.begin(), added.end());
    auto update = state->Apply(RowsToBatch(schema, added), as_of);
    ASSERT_TRUE(update.ok()) << update.status();
    state = update->state;
    EXPECT_LE(state->held_events(), std::max<int64_t>(2 * state->retained_events(), 65536));
    ExpectSameSnapshot(MaterializeFull(def, schema, rows, as_of), *state,
                       "as of " + std::to_string(as_of));
  }
}

}  // namespace
}  // namespace mlops::features
