#include "services/features/point_in_time_join.h"

#include <map>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/testing/expect_values.h"
#include "services/features/testing/random_events.h"
#include "services/features/testing/reference_join.h"
#include "services/features/testing/rows.h"

namespace mlops::features {
namespace {

using ::mlops::features::testing::BuildTable;
using ::mlops::features::testing::RandomKey;
using ::mlops::features::testing::RandomRows;
using ::mlops::features::testing::RandomSchema;
using ::mlops::features::testing::RandomView;
using ::mlops::features::testing::ReferenceEvaluate;
using ::mlops::features::testing::Row;
using ::mlops::features::testing::SameValue;
using ::mlops::features::testing::ValueAt;
using ::testing::HasSubstr;

// One view of a random test: its definition, rows and table.
struct TestView {
  FeatureViewDefinition def;
  std::vector<Row> rows;
  std::shared_ptr<const EventTable> table;
  std::vector<size_t> selected;  // empty = all
};

struct Queries {
  ColumnVector keys;
  std::vector<int64_t> times;
  std::vector<Value> key_values;  // the same keys as Values, for the reference
};

Queries RandomQueries(std::mt19937_64& rng, DataType key_type, size_t n, int64_t keys) {
  Queries q{ColumnVector(key_type), {}, {}};
  std::uniform_int_distribution<int64_t> time(-5, 50);
  std::uniform_int_distribution<int> pct(0, 99);
  for (size_t i = 0; i < n; ++i) {
    Value key = RandomKey(rng, key_type, -1, keys + 1);  // some unknown keys
    const bool null_key = pct(rng) < 3;
    q.keys.nulls.push_back(null_key ? 1 : 0);
    if (key_type == DataType::kInt64) {
      q.keys.values.ints.push_back(std::get<int64_t>(key));
    } else {
      q.keys.values.strings.push_back(std::get<std::string>(key));
    }
    q.key_values.push_back(null_key ? Value(std::monostate{}) : key);
    q.times.push_back(time(rng));
  }
  return q;
}

std::vector<TestView> RandomViews(std::mt19937_64& rng, DataType key_type) {
  std::vector<TestView> views(3);
  views[0].def = RandomView("view_a", /*ttl=*/6);
  views[0].rows = RandomRows(rng, key_type, 300, 10);
  views[1].def = RandomView("view_b", /*ttl=*/0);
  views[1].rows = RandomRows(rng, key_type, 120, 14);
  views[1].selected = {20, 0, 6, 10};
  views[2].def = RandomView("view_c", /*ttl=*/1);
  views[2].rows = RandomRows(rng, key_type, 200, 6);
  for (TestView& v : views) {
    v.table = BuildTable(v.def, RandomSchema(key_type), v.rows, 17);
  }
  return views;
}

std::unique_ptr<PointInTimeJoin> MakeJoin(const std::vector<TestView>& views, ThreadPool* pool) {
  std::vector<JoinViewRequest> requests;
  for (const TestView& v : views) requests.push_back(JoinViewRequest{v.table, v.selected});
  auto join = PointInTimeJoin::Create(std::move(requests), pool);
  EXPECT_TRUE(join.ok()) << join.status();
  return join.ok() ? *std::move(join) : nullptr;
}

// Checks every output row against the reference implementation.
void ExpectMatchesReference(const std::vector<TestView>& views, DataType key_type,
                            const Queries& q, const JoinOutputChunk& out) {
  size_t column = 0;
  const size_t rows = out.features.empty() ? 0 : out.features[0].size();
  for (const TestView& v : views) {
    std::vector<size_t> selected = v.selected;
    if (selected.empty()) {
      for (size_t f = 0; f < v.def.features.size(); ++f) selected.push_back(f);
    }
    for (size_t r = 0; r < rows; ++r) {
      const size_t row = static_cast<size_t>(out.first_row) + r;
      const std::vector<FeatureValue> want =
          ReferenceEvaluate(v.def, RandomSchema(key_type), v.rows, q.key_values[row], q.times[row]);
      for (size_t k = 0; k < selected.size(); ++k) {
        ASSERT_TRUE(SameValue(ValueAt(out.features[column + k], r), want[selected[k]]))
            << v.def.name << ":" << v.def.features[selected[k]].name << " row " << row;
      }
    }
    column += selected.size();
  }
  EXPECT_EQ(column, out.features.size());
}

class PointInTimeJoinReferenceTest : public ::testing::TestWithParam<DataType> {};

TEST_P(PointInTimeJoinReferenceTest, EqualsReferenceRowForRow) {
  const DataType key_type = GetParam();
  ThreadPool pool(2);
  std::map<ValueStatus, int> statuses;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed);
    const std::vector<TestView> views = RandomViews(rng, key_type);
    const Queries q = RandomQueries(rng, key_type, 400, 14);
    auto join = MakeJoin(views, seed % 2 == 0 ? &pool : nullptr);
    ASSERT_NE(join, nullptr);
    JoinInputChunk input;
    input.entity_keys = q.keys;
    input.timestamps = q.times;
    auto out = join->JoinChunk(std::move(input));
    ASSERT_TRUE(out.ok()) << out.status();
    ExpectMatchesReference(views, key_type, q, *out);
    for (const FeatureColumn& c : out->features) {
      for (ValueStatus st : c.status) ++statuses[st];
    }
  }
  // The random data reaches every outcome, often.
  for (ValueStatus st : {ValueStatus::kPresent, ValueStatus::kNull, ValueStatus::kExpired,
                         ValueStatus::kEntityUnknown}) {
    EXPECT_GT(statuses[st], 500) << ValueStatusName(st);
  }
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, PointInTimeJoinReferenceTest,
                         ::testing::Values(DataType::kInt64, DataType::kString));

TEST(PointInTimeJoinTest, RunStreamsChunksInInputOrderLikeOneChunk) {
  std::mt19937_64 rng(99);
  const std::vector<TestView> views = RandomViews(rng, DataType::kInt64);
  const Queries q = RandomQueries(rng, DataType::kInt64, 500, 14);
  ThreadPool pool(2);
  auto join = MakeJoin(views, &pool);
  ASSERT_NE(join, nullptr);
  std::vector<int64_t> first_rows;
  absl::Status s = join->Run(q.keys, q.times, 37, [&](JoinOutputChunk chunk) {
    first_rows.push_back(chunk.first_row);
    EXPECT_LE(chunk.features[0].size(), 37u);
    ExpectMatchesReference(views, DataType::kInt64, q, chunk);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(first_rows.size(), 14u);  // ceil(500 / 37)
  for (size_t i = 0; i < first_rows.size(); ++i) EXPECT_EQ(first_rows[i], 37 * int64_t(i));
}

TEST(PointInTimeJoinTest, RunStopsAtSinkError) {
  std::mt19937_64 rng(5);
  const std::vector<TestView> views = RandomViews(rng, DataType::kInt64);
  const Queries q = RandomQueries(rng, DataType::kInt64, 100, 14);
  auto join = MakeJoin(views, nullptr);
  int calls = 0;
  absl::Status s = join->Run(q.keys, q.times, 10, [&](JoinOutputChunk) {
    ++calls;
    return absl::CancelledError("client went away");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST(PointInTimeJoinTest, DescribesColumnsAndMovesPassthrough) {
  std::mt19937_64 rng(3);
  const std::vector<TestView> views = RandomViews(rng, DataType::kInt64);
  auto join = MakeJoin(views, nullptr);
  ASSERT_NE(join, nullptr);
  ASSERT_EQ(join->columns().size(), 21u + 4u + 21u);
  EXPECT_EQ(join->columns()[21].view, "view_b");
  EXPECT_EQ(join->columns()[21].feature, "x_last_2");
  EXPECT_EQ(join->columns()[23].type, DataType::kDouble);  // x_sum_30
  EXPECT_EQ(join->entity_key_type(), DataType::kInt64);

  JoinInputChunk input;
  input.entity_keys.values.ints = {1, 2};
  input.timestamps = {10, 20};
  ColumnVector label(DataType::kDouble);
  label.values.doubles = {0.5, 1.5};
  input.passthrough.columns.push_back(label);
  input.passthrough.num_rows = 2;
  auto out = join->JoinChunk(std::move(input));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->passthrough.columns[0].values.doubles, std::vector<double>({0.5, 1.5}));
  EXPECT_EQ(out->features.size(), join->columns().size());
}

TEST(PointInTimeJoinTest, RejectsBadInput) {
  std::mt19937_64 rng(4);
  const std::vector<TestView> views = RandomViews(rng, DataType::kInt64);
  auto join = MakeJoin(views, nullptr);
  ASSERT_NE(join, nullptr);

  JoinInputChunk wrong_type;
  wrong_type.entity_keys = ColumnVector(DataType::kString);
  wrong_type.entity_keys.values.strings = {"1"};
  wrong_type.timestamps = {1};
  auto out = join->JoinChunk(std::move(wrong_type));
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("keyed by INT64"));

  JoinInputChunk lengths;
  lengths.entity_keys.values.ints = {1, 2};
  lengths.timestamps = {1};
  EXPECT_EQ(join->JoinChunk(std::move(lengths)).status().code(),
            absl::StatusCode::kInvalidArgument);

  JoinInputChunk passthrough;
  passthrough.entity_keys.values.ints = {1};
  passthrough.timestamps = {1};
  passthrough.passthrough.columns.emplace_back(DataType::kDouble);
  EXPECT_EQ(join->JoinChunk(std::move(passthrough)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PointInTimeJoinTest, CreateRejectsBadViews) {
  std::mt19937_64 rng(6);
  const std::vector<TestView> int_views = RandomViews(rng, DataType::kInt64);
  const std::vector<TestView> string_views = RandomViews(rng, DataType::kString);
  EXPECT_EQ(PointInTimeJoin::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PointInTimeJoin::Create({JoinViewRequest{nullptr, {}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PointInTimeJoin::Create({JoinViewRequest{int_views[0].table, {21}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto mixed = PointInTimeJoin::Create(
      {JoinViewRequest{int_views[0].table, {}}, JoinViewRequest{string_views[0].table, {}}});
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mixed.status().message()), HasSubstr("one entity key type"));
}

TEST(PointInTimeJoinTest, EmptyInputGivesEmptyChunk) {
  std::mt19937_64 rng(8);
  const std::vector<TestView> views = RandomViews(rng, DataType::kInt64);
  auto join = MakeJoin(views, nullptr);
  auto out = join->JoinChunk(JoinInputChunk{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->features[0].size(), 0u);
}

}  // namespace
}  // namespace mlops::features
