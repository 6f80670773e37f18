// The closed-loop test's own recomputations, checked on small inputs (these
// run without Postgres): the version id against ingestion's known vector, the
// point-in-time rule at its edges, the metrics parser.
#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "tests/integration/closed_loop_outcomes.h"

namespace mlops::testing_platform {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;

void AddColumn(cv1::Schema* schema, const std::string& name, cv1::DataType type) {
  cv1::Column* c = schema->add_columns();
  c->set_name(name);
  c->set_type(type);
}

cv1::Value Null() { return cv1::Value(); }
cv1::Value I(int64_t x) { cv1::Value v; v.set_int64_value(x); return v; }
cv1::Value D(double x) { cv1::Value v; v.set_double_value(x); return v; }
cv1::Value S(const std::string& x) { cv1::Value v; v.set_string_value(x); return v; }
cv1::Value B(bool x) { cv1::Value v; v.set_bool_value(x); return v; }
cv1::Value T(int64_t x) { cv1::Value v; v.set_timestamp_micros(x); return v; }

cv1::Row MakeRow(std::vector<cv1::Value> values) {
  cv1::Row row;
  for (cv1::Value& v : values) *row.add_values() = std::move(v);
  return row;
}

// services/ingestion/version_hash_test.cc's vector, itself computed by an
// independent Python implementation of the documented encoding.
TEST(ClosedLoopRecomputeTest, VersionIdMatchesIngestionKnownVector) {
  cv1::Schema schema;
  AddColumn(&schema, "id", cv1::DATA_TYPE_INT64);
  AddColumn(&schema, "amount", cv1::DATA_TYPE_DOUBLE);
  AddColumn(&schema, "name", cv1::DATA_TYPE_STRING);
  AddColumn(&schema, "flag", cv1::DATA_TYPE_BOOL);
  AddColumn(&schema, "ts", cv1::DATA_TYPE_TIMESTAMP);
  const std::vector<cv1::Row> rows = {
      MakeRow({I(1), D(2.5), S("a"), B(true), T(1700000000000000)}),
      MakeRow({Null(), D(-0.0), S(""), B(false), Null()}),
      MakeRow({I(std::numeric_limits<int64_t>::min()), D(std::nan("")), S("\xc3\xa9"), Null(), T(-1)}),
  };
  EXPECT_EQ(ExpectedDatasetVersionId("payments", "", ingestion::v1::INGEST_MODE_APPEND, schema, rows),
            "7af565fa181bd3bfbda78c223a16c9c35a8ef969d25a8143a36365004202f0d5");
  EXPECT_EQ(ExpectedDatasetVersionId("payments", "", ingestion::v1::INGEST_MODE_APPEND, schema, {}),
            "22a3bdda99cd122fe30f994cede01a2312fb298b51ae50424725cb81b81ef086");
}

fv1::FeatureDefinition* Aggregate(fv1::FeatureViewSpec* spec, const std::string& name,
                                  fv1::AggregationFunction function, const std::string& column,
                                  int64_t window) {
  fv1::FeatureDefinition* f = spec->add_features();
  f->set_name(name);
  f->mutable_aggregation()->set_function(function);
  f->mutable_aggregation()->set_column(column);
  f->mutable_aggregation()->set_window_micros(window);
  return f;
}

TEST(ClosedLoopRecomputeTest, HandComputedFeaturesFollowThePointInTimeRule) {
  cv1::Schema schema;
  AddColumn(&schema, "k", cv1::DATA_TYPE_STRING);
  AddColumn(&schema, "ts", cv1::DATA_TYPE_TIMESTAMP);
  AddColumn(&schema, "x", cv1::DATA_TYPE_DOUBLE);
  // Out of time order on purpose: events are ordered by time, not by row.
  const std::vector<cv1::Row> rows = {
      MakeRow({S("a"), T(300), D(4.0)}), MakeRow({S("a"), T(100), D(1.0)}),
      MakeRow({S("b"), T(250), D(100.0)}), MakeRow({S("a"), T(200), D(2.0)}),
  };
  fv1::FeatureViewSpec spec;
  spec.set_entity_key_column("k");
  spec.set_timestamp_column("ts");
  spec.set_ttl_micros(50);
  fv1::FeatureDefinition* last = spec.add_features();
  last->set_name("last_x");
  last->mutable_raw()->set_column("x");
  Aggregate(&spec, "sum_100", fv1::AGGREGATION_FUNCTION_SUM, "x", 100);
  Aggregate(&spec, "count_100", fv1::AGGREGATION_FUNCTION_COUNT, "", 100);
  Aggregate(&spec, "mean_1000", fv1::AGGREGATION_FUNCTION_MEAN, "x", 1000);
  Aggregate(&spec, "max_1000", fv1::AGGREGATION_FUNCTION_MAX, "x", 1000);

  auto at = [&](int64_t t) { return HandComputedFeatures(spec, schema, rows, S("a"), t); };
  // At 300: the event at t counts; the one at 200 = t - w does not.
  std::vector<cv1::Value> v = at(300);
  EXPECT_EQ(DescribeValue(v[0]), DescribeValue(D(4.0)));
  EXPECT_EQ(DescribeValue(v[1]), DescribeValue(D(4.0)));
  EXPECT_EQ(DescribeValue(v[2]), DescribeValue(I(1)));
  EXPECT_EQ(DescribeValue(v[3]), DescribeValue(D(7.0 / 3)));
  EXPECT_EQ(DescribeValue(v[4]), DescribeValue(D(4.0)));
  // At 299: the last event is 99 old, past the TTL of 50: raw is NULL.
  v = at(299);
  EXPECT_EQ(DescribeValue(v[0]), "NULL");
  EXPECT_EQ(DescribeValue(v[1]), DescribeValue(D(2.0)));
  EXPECT_EQ(DescribeValue(v[2]), DescribeValue(I(1)));
  // At 400: the short window is empty (COUNT 0, SUM NULL).
  v = at(400);
  EXPECT_EQ(DescribeValue(v[1]), "NULL");
  EXPECT_EQ(DescribeValue(v[2]), DescribeValue(I(0)));
  EXPECT_EQ(DescribeValue(v[4]), DescribeValue(D(4.0)));
  // Before the first event: unknown, every feature NULL (COUNT too).
  for (const cv1::Value& x : at(99)) EXPECT_EQ(DescribeValue(x), "NULL");
}

TEST(ClosedLoopRecomputeTest, SumSamplesMatchesEveryGivenLabel) {
  const std::string page =
      "# TYPE m counter\n"
      "m{dataset=\"d\",outcome=\"rejected\"} 2\n"
      "m{outcome=\"rejected\",dataset=\"d\"} 1.5\n"
      "m{dataset=\"e\",outcome=\"rejected\"} 7\n"
      "m{dataset=\"d\",outcome=\"committed\",note=\"a \\\"q\\\"\"} 10\n"
      "mm{dataset=\"d\"} 100\n"
      "m 1000\n";
  EXPECT_EQ(SumSamples(page, "m", {{"dataset", "d"}, {"outcome", "rejected"}}), 3.5);
  EXPECT_EQ(SumSamples(page, "m", {{"dataset", "d"}}), 13.5);
  EXPECT_EQ(SumSamples(page, "m", {{"note", "a \"q\""}}), 10);
  EXPECT_EQ(SumSamples(page, "m", {}), 1020.5);
  EXPECT_EQ(SumSamples(page, "absent", {}), 0);
}

}  // namespace
}  // namespace mlops::testing_platform
