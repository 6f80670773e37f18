#include "common/stats/profile_proto.h"
#include "services/ingestion/proto_convert.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

TEST(ProtoConvertTest, ValuesRoundTripAndUnsetIsNull) {
  std::vector<Value> values = {std::monostate{}, int64_t{-7}, 2.5, std::string("x"), true,
                               Timestamp{123}};
  for (const Value& v : values) {
    common::v1::Value p;
    ValueToProto(v, &p);
    EXPECT_EQ(ValueFromProto(p), v);
  }
  EXPECT_TRUE(IsNull(ValueFromProto(common::v1::Value())));
}

TEST(ProtoConvertTest, RegexDefaultsToAFullMatch) {
  google::protobuf::RepeatedPtrField<v1::Expectation> in;
  auto* e = in.Add();
  e->set_column("s");
  e->mutable_regex()->set_pattern("a+");
  auto* partial = in.Add();
  partial->set_column("s");
  partial->mutable_regex()->set_pattern("a+");
  partial->mutable_regex()->set_partial(true);
  ExpectationSuite suite;
  MLOPS_ASSERT_OK(SuiteFromProto(in, 3, &suite));
  EXPECT_EQ(suite.version, 3);
  EXPECT_EQ(std::get<MatchesRegex>(suite.expectations[0].rule).pattern, "^(?:a+)$");
  EXPECT_EQ(std::get<MatchesRegex>(suite.expectations[1].rule).pattern, "a+");
}

TEST(ProtoConvertTest, MissingKindIsInvalidAndNamesTheExpectation) {
  google::protobuf::RepeatedPtrField<v1::Expectation> in;
  in.Add()->set_column("x");
  ExpectationSuite suite;
  absl::Status s = SuiteFromProto(in, 1, &suite);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expectations[0]"), std::string::npos);
}

TEST(ProtoConvertTest, StrictBetweenBoundsAreCarried) {
  google::protobuf::RepeatedPtrField<v1::Expectation> in;
  auto* e = in.Add();
  e->set_column("x");
  e->mutable_between()->mutable_min()->set_int64_value(0);
  e->mutable_between()->mutable_max()->set_double_value(1.5);
  e->mutable_between()->set_strict_min(true);
  ExpectationSuite suite;
  MLOPS_ASSERT_OK(SuiteFromProto(in, 1, &suite));
  const Between& b = std::get<Between>(suite.expectations[0].rule);
  EXPECT_EQ(b.min, 0.0);
  EXPECT_EQ(b.max, 1.5);
  EXPECT_TRUE(b.strict_min);
  EXPECT_FALSE(b.strict_max);
}

TEST(ProtoConvertTest, AggregateScopesDefaultToTheBatch) {
  google::protobuf::RepeatedPtrField<v1::Expectation> in;
  in.Add()->mutable_row_count()->set_min(1);
  auto* versioned = in.Add()->mutable_row_count();
  versioned->set_min(1);
  versioned->set_scope(v1::SCOPE_VERSION);
  auto* mean = in.Add();
  mean->set_column("x");
  mean->mutable_mean_between()->set_max(3);
  mean->mutable_mean_between()->set_scope(v1::SCOPE_VERSION);
  auto* stddev = in.Add();
  stddev->set_column("x");
  stddev->mutable_stddev_between()->set_max(3);
  stddev->mutable_stddev_between()->set_scope(v1::SCOPE_BATCH);
  ExpectationSuite suite;
  MLOPS_ASSERT_OK(SuiteFromProto(in, 1, &suite));
  EXPECT_EQ(std::get<RowCountBetween>(suite.expectations[0].rule).scope, AggregateScope::kBatch);
  EXPECT_EQ(std::get<RowCountBetween>(suite.expectations[1].rule).scope, AggregateScope::kVersion);
  EXPECT_EQ(std::get<MeanBetween>(suite.expectations[2].rule).scope, AggregateScope::kVersion);
  EXPECT_EQ(std::get<StddevBetween>(suite.expectations[3].rule).scope, AggregateScope::kBatch);
}

TEST(ProtoConvertTest, ProfileRoundTrips) {
  stats::DatasetProfile p;
  p.row_count = 10;
  stats::ColumnProfile c;
  c.name = "a";
  c.type = DataType::kDouble;
  c.count = 10;
  c.mean = 1.5;
  c.quantiles = {{0.5, 1.0}};
  c.histogram.edges = {0, 1, 2};
  c.histogram.counts = {4, 6};
  c.top_categories = {{"k", 3}};
  c.quantile_sketch = std::string("\x01\x02", 2);
  p.columns.push_back(c);
  common::v1::DatasetProfile proto;
  stats::DatasetProfileToProto(p, &proto);
  stats::DatasetProfile back = stats::DatasetProfileFromProto(proto);
  ASSERT_EQ(back.columns.size(), 1u);
  EXPECT_EQ(back.row_count, 10);
  EXPECT_EQ(back.columns[0].name, "a");
  EXPECT_EQ(back.columns[0].mean, 1.5);
  EXPECT_EQ(back.columns[0].quantiles, c.quantiles);
  EXPECT_EQ(back.columns[0].histogram, c.histogram);
  EXPECT_EQ(back.columns[0].top_categories, c.top_categories);
  EXPECT_EQ(back.columns[0].quantile_sketch, c.quantile_sketch);
}

}  // namespace
}  // namespace mlops::ingestion
