#include "services/ingestion/expectations.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

Schema TestSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64, false),
               MakeColumn("amount", DataType::kDouble, true),
               MakeColumn("country", DataType::kString, true),
               MakeColumn("fraud", DataType::kBool, false)};
  return s;
}

Expectation E(ExpectationRule rule, std::string column, Severity severity = Severity::kError,
              double mostly = 1.0) {
  return Expectation{std::move(rule), std::move(column), severity, mostly};
}

std::string SuiteError(Expectation e) {
  ExpectationSuite suite;
  suite.expectations = {E(NotNull{}, "id"), std::move(e)};
  const absl::Status s = ValidateSuite(TestSchema(), suite);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(ExpectationSuiteTest, AcceptsEveryKindOnSuitableColumns) {
  ExpectationSuite suite;
  suite.expectations = {
      E(NotNull{}, "amount"),
      E(Between{0.0, 100.0}, "amount", Severity::kWarn, 0.9),
      E(InSet{{std::string("DE"), std::string("FR")}}, "country"),
      E(Unique{UniqueScope::kVersion}, "id"),
      E(MatchesRegex{"^[A-Z]{2}$"}, "country"),
      E(RowCountBetween{1, std::nullopt}, ""),
      E(MeanBetween{std::nullopt, 50.0}, "amount"),
      E(StddevBetween{0.0, 10.0}, "fraud"),
      E(DistributionDistance{DistanceMetric::kJensenShannon, 0.2}, "country"),
  };
  EXPECT_TRUE(ValidateSuite(TestSchema(), suite).ok()) << ValidateSuite(TestSchema(), suite);
}

TEST(ExpectationSuiteTest, RejectsMissingColumns) {
  EXPECT_EQ(SuiteError(E(Between{0.0, 1.0}, "amout")),
            "expectation 1 (between): column \"amout\" is not in the schema");
  EXPECT_EQ(SuiteError(E(NotNull{}, "")), "expectation 1 (not_null): no column given");
  EXPECT_EQ(SuiteError(E(RowCountBetween{0, 5}, "id")),
            "expectation 1 (row_count_between): row_count_between takes no column");
}

TEST(ExpectationSuiteTest, RejectsRulesOnUnsuitableColumns) {
  EXPECT_EQ(SuiteError(E(MatchesRegex{"x"}, "id")),
            "expectation 1 (matches_regex): column \"id\" is int64; matches_regex needs a string "
            "column");
  EXPECT_EQ(SuiteError(E(Between{0.0, 1.0}, "country")),
            "expectation 1 (between): column \"country\" is string; between needs an int64, "
            "double or timestamp column");
  EXPECT_EQ(SuiteError(E(MeanBetween{0.0, 1.0}, "country")),
            "expectation 1 (mean_between): column \"country\" is string; mean_between needs a "
            "numeric column");
  EXPECT_EQ(SuiteError(E(InSet{{int64_t{1}}}, "country")),
            "expectation 1 (in_set): value 0 (1) is not a string like column \"country\"");
}

TEST(ExpectationSuiteTest, RejectsBadParameters) {
  EXPECT_EQ(SuiteError(E(MatchesRegex{"("}, "country")),
            "expectation 1 (matches_regex): invalid regex \"(\": missing ): (");
  EXPECT_EQ(SuiteError(E(Between{5.0, 1.0}, "amount")),
            "expectation 1 (between): min 5 is greater than max 1");
  EXPECT_EQ(SuiteError(E(Between{}, "amount")), "expectation 1 (between): needs min, max or both");
  EXPECT_EQ(SuiteError(E(Between{std::nan(""), 1.0}, "amount")),
            "expectation 1 (between): min is NaN");
  EXPECT_EQ(SuiteError(E(NotNull{}, "id", Severity::kError, 1.5)),
            "expectation 1 (not_null): mostly 1.5 is not in [0, 1]");
  EXPECT_EQ(SuiteError(E(MeanBetween{0.0, 1.0}, "amount", Severity::kError, 0.5)),
            "expectation 1 (mean_between): mostly applies to row-level expectations only");
  EXPECT_EQ(SuiteError(E(RowCountBetween{-1, 5}, "")),
            "expectation 1 (row_count_between): min must not be negative");
  EXPECT_EQ(SuiteError(E(InSet{}, "country")), "expectation 1 (in_set): needs at least one value");
  EXPECT_EQ(SuiteError(E(DistributionDistance{DistanceMetric::kPsi, -1}, "amount")),
            "expectation 1 (distribution_distance): max distance must be a finite number >= 0");
  EXPECT_EQ(SuiteError(E(NotNull{}, "id", static_cast<Severity>(7))),
            "expectation 1 (not_null): unknown severity");
}

TEST(ExpectationSuiteTest, DescribesExpectations) {
  EXPECT_EQ(DescribeExpectation(E(Between{0.0, 100.0}, "amount")),
            "between(amount, min=0, max=100) [error]");
  EXPECT_EQ(DescribeExpectation(E(Unique{UniqueScope::kVersion}, "id", Severity::kWarn, 0.99)),
            "unique(id, scope=version, mostly=0.99) [warn]");
  EXPECT_EQ(DescribeExpectation(E(InSet{{std::string("DE"), std::string("FR")}}, "country")),
            "in_set(country, values={\"DE\", \"FR\"}) [error]");
  EXPECT_EQ(DescribeExpectation(E(RowCountBetween{1, std::nullopt}, "")),
            "row_count_between(min=1) [error]");
  EXPECT_EQ(DescribeExpectation(E(DistributionDistance{DistanceMetric::kPsi, 0.25}, "amount")),
            "distribution_distance(amount, metric=psi, max=0.25) [error]");
  EXPECT_EQ(DescribeExpectation(E(MatchesRegex{"^a$"}, "country")),
            "matches_regex(country, \"^a$\") [error]");
  EXPECT_TRUE(IsRowLevel(Unique{}));
  EXPECT_FALSE(IsRowLevel(MeanBetween{}));
}

}  // namespace
}  // namespace mlops::ingestion
