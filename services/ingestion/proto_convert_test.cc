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

TEST(ProtoConvertTest, UnsupportedOptionsAreUnimplementedAndMissingKindInvalid) {
  google::protobuf::RepeatedPtrField<v1::Expectation> in;
  auto* e = in.Add();
  e->set_column("x");
  e->mutable_between()->set_strict_min(true);
  ExpectationSuite suite;
  EXPECT_EQ(SuiteFromProto(in, 1, &suite).code(), absl::StatusCode::kUnimplemented);
  in.Clear();
  in.Add()->set_column("x");
  absl::Status s = SuiteFromProto(in, 1, &suite);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("expectations[0]"), std::string::npos);
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
