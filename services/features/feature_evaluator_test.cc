#include "services/features/feature_evaluator.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/testing/rows.h"

namespace mlops::features {
namespace {

using ::mlops::features::testing::BuildTable;
using ::mlops::features::testing::Row;
using ::mlops::features::testing::Ts;

constexpr std::monostate kNull{};

SourceSchema Schema() {
  return SourceSchema{{
      {"id", DataType::kInt64, false},
      {"ts", DataType::kTimestamp, false},
      {"x", DataType::kDouble, true},
      {"n", DataType::kInt64, true},
      {"s", DataType::kString, true},
      {"b", DataType::kBool, true},
      {"t", DataType::kTimestamp, true},
  }};
}

FeatureViewDefinition View(std::vector<FeatureSpec> features, int64_t ttl = 0) {
  FeatureViewDefinition d;
  d.name = "v";
  d.entity_column = "id";
  d.event_time_column = "ts";
  d.source_dataset = "events";
  d.ttl_micros = ttl;
  d.features = std::move(features);
  return d;
}

// Evaluates the single feature of `def` over `rows` for entity 1 as of t.
FeatureValue EvalOne(const FeatureViewDefinition& def, const std::vector<Row>& rows, int64_t t) {
  FeatureEvaluator evaluator(BuildTable(def, Schema(), rows));
  return evaluator.Evaluate(int64_t{1}, t)[0];
}

Row Event(int64_t ts, Value x, Value n = kNull, Value s = kNull) {
  return Row{int64_t{1}, Ts(ts), std::move(x), std::move(n), std::move(s), kNull, kNull};
}

MATCHER_P(IsDouble, expected, "") {
  if (arg.status != ValueStatus::kPresent) {
    *result_listener << "status " << ValueStatusName(arg.status);
    return false;
  }
  const double got = std::get<double>(arg.value);
  *result_listener << "value " << got;
  return std::memcmp(&got, &expected, sizeof(double)) == 0;
}

MATCHER_P(IsInt, expected, "") {
  return arg.status == ValueStatus::kPresent && std::get<int64_t>(arg.value) == expected;
}

MATCHER_P(HasStatus, expected, "") { return arg.status == expected; }

// --- raw features -----------------------------------------------------------

TEST(RawFeatureTest, TakesLatestEventAtOrBeforeTime) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}});
  const std::vector<Row> rows = {Event(10, 1.0), Event(20, 2.0), Event(30, 3.0)};
  EXPECT_THAT(EvalOne(def, rows, 20), IsDouble(2.0));  // event exactly at t counts
  EXPECT_THAT(EvalOne(def, rows, 29), IsDouble(2.0));  // never the future
  EXPECT_THAT(EvalOne(def, rows, 1000), IsDouble(3.0));
}

TEST(RawFeatureTest, EqualTimestampsTakeLastIngested) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}});
  const std::vector<Row> rows = {Event(10, 1.0), Event(20, 2.0), Event(20, 5.0), Event(20, 4.0)};
  EXPECT_THAT(EvalOne(def, rows, 20), IsDouble(4.0));
}

TEST(RawFeatureTest, NullInLatestRowIsNullNotAnOlderValue) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}});
  const std::vector<Row> rows = {Event(10, 1.0), Event(20, kNull)};
  EXPECT_THAT(EvalOne(def, rows, 25), HasStatus(ValueStatus::kNull));
  EXPECT_THAT(EvalOne(def, rows, 15), IsDouble(1.0));
}

TEST(RawFeatureTest, TtlIsInclusiveLikeMergeAsofTolerance) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}}, /*ttl=*/5);
  const std::vector<Row> rows = {Event(10, 1.0)};
  EXPECT_THAT(EvalOne(def, rows, 15), IsDouble(1.0));  // exactly ttl old: valid
  EXPECT_THAT(EvalOne(def, rows, 16), HasStatus(ValueStatus::kExpired));
  // A null that is also too old is EXPIRED.
  const std::vector<Row> null_rows = {Event(10, kNull)};
  EXPECT_THAT(EvalOne(def, null_rows, 16), HasStatus(ValueStatus::kExpired));
  EXPECT_THAT(EvalOne(def, null_rows, 15), HasStatus(ValueStatus::kNull));
}

TEST(RawFeatureTest, TtlDoesNotOverflowAtExtremeTimes) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}}, /*ttl=*/5);
  const std::vector<Row> rows = {Event(std::numeric_limits<int64_t>::min() + 1, 1.0)};
  EXPECT_THAT(EvalOne(def, rows, std::numeric_limits<int64_t>::max()),
              HasStatus(ValueStatus::kExpired));
}

TEST(RawFeatureTest, UnknownEntityAndOnlyFutureEventsAreEntityUnknown) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}, {"c", "x", Aggregation::kCount, 5}});
  FeatureEvaluator evaluator(BuildTable(def, Schema(), {Event(10, 1.0)}));
  for (const FeatureValue& v : evaluator.Evaluate(int64_t{2}, 100)) {
    EXPECT_THAT(v, HasStatus(ValueStatus::kEntityUnknown));
  }
  for (const FeatureValue& v : evaluator.Evaluate(int64_t{1}, 9)) {
    EXPECT_THAT(v, HasStatus(ValueStatus::kEntityUnknown));
  }
  for (const FeatureValue& v : evaluator.Evaluate(std::string("1"), 100)) {
    EXPECT_THAT(v, HasStatus(ValueStatus::kEntityUnknown));  // wrong key type
  }
}

TEST(RawFeatureTest, CopiesEveryType) {
  const auto def = View({{"n", "n", Aggregation::kRaw, 0},
                         {"s", "s", Aggregation::kRaw, 0},
                         {"b", "b", Aggregation::kRaw, 0},
                         {"t", "t", Aggregation::kRaw, 0}});
  const std::vector<Row> rows = {
      Row{int64_t{1}, Ts(1), kNull, int64_t{-42}, std::string("hi"), true, Ts(77)}};
  FeatureEvaluator evaluator(BuildTable(def, Schema(), rows));
  const auto v = evaluator.Evaluate(int64_t{1}, 1);
  EXPECT_EQ(std::get<int64_t>(v[0].value), -42);
  EXPECT_EQ(std::get<std::string>(v[1].value), "hi");
  EXPECT_EQ(std::get<bool>(v[2].value), true);
  EXPECT_EQ(std::get<TimestampMicros>(v[3].value).micros, 77);
}

// --- windowed aggregations --------------------------------------------------

// Events at 0, 10, 20, 20, 30 with x = 1, 2, 4, 8, 16: a window of 10 as of
// 30 holds (20, 30]: 16 only; as of 29: (19, 29]: 4 and 8.
std::vector<Row> WindowRows() {
  return {Event(0, 1.0, int64_t{1}), Event(10, 2.0, int64_t{2}), Event(20, 4.0, int64_t{4}),
          Event(20, 8.0, int64_t{8}), Event(30, 16.0, int64_t{16})};
}

TEST(WindowTest, EventAtAsOfIsInAndEventAtWindowStartIsOut) {
  const auto def = View({{"sum", "x", Aggregation::kSum, 10}});
  EXPECT_THAT(EvalOne(def, WindowRows(), 30), IsDouble(16.0));  // 20 is exactly t - window
  EXPECT_THAT(EvalOne(def, WindowRows(), 29), IsDouble(12.0));
  EXPECT_THAT(EvalOne(def, WindowRows(), 20), IsDouble(12.0));  // both ties at t are in
  EXPECT_THAT(EvalOne(def, WindowRows(), 19), IsDouble(2.0));
}

TEST(WindowTest, EmptyWindowGivesZeroCountAndNullOthers) {
  const std::vector<Row> rows = {Event(0, 1.0, int64_t{1})};
  EXPECT_THAT(EvalOne(View({{"f", "x", Aggregation::kCount, 10}}), rows, 50), IsInt(0));
  EXPECT_THAT(EvalOne(View({{"f", "n", Aggregation::kSum, 10}}), rows, 50),
              HasStatus(ValueStatus::kNull));
  for (Aggregation a : {Aggregation::kSum, Aggregation::kMean, Aggregation::kMin, Aggregation::kMax,
                        Aggregation::kStddev, Aggregation::kLast}) {
    EXPECT_THAT(EvalOne(View({{"f", "x", a, 10}}), rows, 50), HasStatus(ValueStatus::kNull))
        << AggregationName(a);
  }
}

TEST(WindowTest, EachAggregationOverDoubles) {
  const auto rows = WindowRows();
  auto eval = [&](Aggregation a) { return EvalOne(View({{"f", "x", a, 25}}), rows, 30); };
  // (5, 30]: 2, 4, 8, 16
  EXPECT_THAT(eval(Aggregation::kCount), IsInt(4));
  EXPECT_THAT(eval(Aggregation::kSum), IsDouble(30.0));
  EXPECT_THAT(eval(Aggregation::kMean), IsDouble(7.5));
  EXPECT_THAT(eval(Aggregation::kMin), IsDouble(2.0));
  EXPECT_THAT(eval(Aggregation::kMax), IsDouble(16.0));
  EXPECT_THAT(eval(Aggregation::kLast), IsDouble(16.0));
  // deviations -5.5 -3.5 0.5 8.5: squares 30.25 12.25 0.25 72.25 = 115 / 4
  EXPECT_THAT(eval(Aggregation::kStddev), IsDouble(std::sqrt(115.0 / 4.0)));
}

TEST(WindowTest, EachAggregationOverInt64) {
  const auto rows = WindowRows();
  auto eval = [&](Aggregation a) { return EvalOne(View({{"f", "n", a, 25}}), rows, 30); };
  EXPECT_THAT(eval(Aggregation::kCount), IsInt(4));
  EXPECT_THAT(eval(Aggregation::kSum), IsInt(30));
  EXPECT_THAT(eval(Aggregation::kMean), IsDouble(7.5));
  EXPECT_THAT(eval(Aggregation::kMin), IsInt(2));
  EXPECT_THAT(eval(Aggregation::kMax), IsInt(16));
  EXPECT_THAT(eval(Aggregation::kLast), IsInt(16));
  EXPECT_THAT(eval(Aggregation::kStddev), IsDouble(std::sqrt(115.0 / 4.0)));
}

TEST(WindowTest, NullsAreSkippedByEveryAggregation) {
  const std::vector<Row> rows = {Event(1, 3.0, kNull, std::string("a")),
                                 Event(2, kNull, int64_t{5}, std::string("b")),
                                 Event(3, 5.0, kNull, kNull)};
  auto eval = [&](const char* col, Aggregation a) {
    return EvalOne(View({{"f", col, a, 100}}), rows, 3);
  };
  EXPECT_THAT(eval("x", Aggregation::kCount), IsInt(2));
  EXPECT_THAT(eval("x", Aggregation::kSum), IsDouble(8.0));
  EXPECT_THAT(eval("x", Aggregation::kMean), IsDouble(4.0));
  EXPECT_THAT(eval("x", Aggregation::kStddev), IsDouble(1.0));
  EXPECT_THAT(eval("n", Aggregation::kCount), IsInt(1));
  EXPECT_THAT(eval("n", Aggregation::kStddev), IsDouble(0.0));  // one value
  EXPECT_THAT(eval("x", Aggregation::kLast), IsDouble(5.0));
  // last = latest non-null, unlike a raw feature (latest row).
  const FeatureValue last_s = eval("s", Aggregation::kLast);
  EXPECT_EQ(std::get<std::string>(last_s.value), "b");
  EXPECT_THAT(eval("s", Aggregation::kCount), IsInt(2));
  EXPECT_THAT(EvalOne(View({{"f", "s", Aggregation::kRaw, 0}}), rows, 3),
              HasStatus(ValueStatus::kNull));
}

TEST(WindowTest, SumsInEventOrderNotArrivalOrder) {
  // 1e16 + 1 + -1e16: the order of summation decides the result.
  const std::vector<Row> a = {Event(3, -1e16), Event(1, 1e16), Event(2, 1.0)};
  const std::vector<Row> b = {Event(2, 1.0), Event(3, -1e16), Event(1, 1e16)};
  const auto def = View({{"f", "x", Aggregation::kSum, 100}});
  const double expected = (1e16 + 1.0) + -1e16;  // event order
  EXPECT_THAT(EvalOne(def, a, 3), IsDouble(expected));
  EXPECT_THAT(EvalOne(def, b, 3), IsDouble(expected));
}

TEST(WindowTest, BoolsAggregateAsZeroAndOne) {
  auto bool_event = [](int64_t ts, Value b) {
    return Row{int64_t{1}, Ts(ts), kNull, kNull, kNull, std::move(b), kNull};
  };
  const std::vector<Row> rows = {bool_event(1, true), bool_event(2, false), bool_event(3, kNull),
                                 bool_event(4, true)};
  EXPECT_THAT(EvalOne(View({{"f", "b", Aggregation::kSum, 100}}), rows, 4), IsInt(2));
  EXPECT_THAT(EvalOne(View({{"f", "b", Aggregation::kMean, 100}}), rows, 4), IsDouble(2.0 / 3));
  const double mean = 2.0 / 3;
  const double m2 = (1 - mean) * (1 - mean) + mean * mean + (1 - mean) * (1 - mean);
  EXPECT_THAT(EvalOne(View({{"f", "b", Aggregation::kStddev, 100}}), rows, 4),
              IsDouble(std::sqrt(m2 / 3)));
  EXPECT_EQ(FeatureOutputType(Aggregation::kSum, DataType::kBool), DataType::kInt64);
}

TEST(WindowTest, Int64SumOverflowIsNull) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const std::vector<Row> rows = {Event(1, kNull, max), Event(2, kNull, int64_t{5})};
  EXPECT_THAT(EvalOne(View({{"f", "n", Aggregation::kSum, 100}}), rows, 2),
              HasStatus(ValueStatus::kNull));
  EXPECT_THAT(EvalOne(View({{"f", "n", Aggregation::kSum, 100}}), rows, 1), IsInt(max));
}

TEST(WindowTest, TimestampMinMaxAndTtlIgnored) {
  const std::vector<Row> rows = {Row{int64_t{1}, Ts(1), kNull, kNull, kNull, kNull, Ts(500)},
                                 Row{int64_t{1}, Ts(2), kNull, kNull, kNull, kNull, Ts(300)}};
  const auto def = View({{"lo", "t", Aggregation::kMin, 100}, {"hi", "t", Aggregation::kMax, 100}},
                        /*ttl=*/1);
  FeatureEvaluator evaluator(BuildTable(def, Schema(), rows));
  const auto v = evaluator.Evaluate(int64_t{1}, 50);  // raw features would be expired
  EXPECT_EQ(std::get<TimestampMicros>(v[0].value).micros, 300);
  EXPECT_EQ(std::get<TimestampMicros>(v[1].value).micros, 500);
}

TEST(WindowTest, WindowReachingBeforeTimeZeroDoesNotOverflow) {
  const int64_t min = std::numeric_limits<int64_t>::min();
  const std::vector<Row> rows = {Event(min, 1.0), Event(min + 1, 2.0)};
  EXPECT_THAT(EvalOne(View({{"f", "x", Aggregation::kSum, 1000}}), rows, min + 10),
              IsDouble(3.0));
}

TEST(FeatureEvaluatorTest, EmptyTableKnowsNoEntity) {
  const auto def = View({{"x", "x", Aggregation::kRaw, 0}, {"c", "x", Aggregation::kCount, 5}});
  FeatureEvaluator evaluator(BuildTable(def, Schema(), {}));
  for (const FeatureValue& v : evaluator.Evaluate(int64_t{1}, 100)) {
    EXPECT_THAT(v, HasStatus(ValueStatus::kEntityUnknown));
  }
}

TEST(FeatureEvaluatorTest, SelectsSubsetInGivenOrder) {
  const auto def = View({{"a", "x", Aggregation::kRaw, 0},
                         {"b", "x", Aggregation::kCount, 10},
                         {"c", "n", Aggregation::kSum, 10}});
  FeatureEvaluator evaluator(BuildTable(def, Schema(), WindowRows()), {2, 0});
  ASSERT_EQ(evaluator.num_features(), 2u);
  EXPECT_EQ(evaluator.spec(0).name, "c");
  EXPECT_EQ(evaluator.output_type(0), DataType::kInt64);
  EXPECT_EQ(evaluator.feature_index(1), 0u);
  const auto v = evaluator.Evaluate(int64_t{1}, 30);
  EXPECT_THAT(v[0], IsInt(16));
  EXPECT_THAT(v[1], IsDouble(16.0));
}

}  // namespace
}  // namespace mlops::features
