// Strict `between` bounds and aggregates over the whole new version
// (AggregateScope::kVersion): BatchValidator against hand-computed values.
#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingestion/batch_validator.h"

namespace mlops::ingestion {
namespace {

using ::testing::HasSubstr;

Schema TestSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64, true), MakeColumn("amount", DataType::kDouble, true),
               MakeColumn("at", DataType::kTimestamp, true)};
  s.columns[1].allow_non_finite = true;
  return s;
}

Row R(Value id, Value amount = Value(), Value at = Value()) {
  return {std::move(id), std::move(amount), std::move(at)};
}

ExpectationSuite Suite(std::vector<Expectation> expectations) {
  ExpectationSuite suite;
  suite.expectations = std::move(expectations);
  return suite;
}

ValidationReport Validate(std::vector<Expectation> expectations, const std::vector<Row>& rows,
                          BatchValidatorOptions options = {}) {
  absl::StatusOr<std::unique_ptr<BatchValidator>> v =
      BatchValidator::Create(TestSchema(), Suite(std::move(expectations)), options);
  EXPECT_TRUE(v.ok()) << v.status();
  const absl::Status added = (*v)->AddChunk(rows);
  EXPECT_TRUE(added.ok()) << added;
  absl::StatusOr<ValidationReport> report = (*v)->Finish();
  EXPECT_TRUE(report.ok()) << report.status();
  return *std::move(report);
}

// The profile of `rows` as the parent version stores it.
stats::DatasetProfile ProfileOf(const std::vector<Row>& rows) {
  auto v = BatchValidator::Create(TestSchema(), Suite({}));
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE((*v)->AddChunk(rows).ok());
  EXPECT_TRUE((*v)->Finish().ok());
  return (*v)->profile();
}

// Failing counts of one `between` on `column` over `values`.
int64_t BetweenFailures(Between rule, const std::string& column, const std::vector<Value>& values) {
  std::vector<Row> rows;
  for (const Value& v : values) {
    Row row = R(Value(), Value(), Value());
    row[static_cast<size_t>(TestSchema().IndexOf(column))] = v;
    rows.push_back(std::move(row));
  }
  const ValidationReport r = Validate({Expectation{rule, column}}, rows);
  EXPECT_EQ(r.results[0].element_count, static_cast<int64_t>(values.size()));
  return r.results[0].failing_count;
}

TEST(StrictBetweenTest, StrictMinExcludesTheBoundOnly) {
  const double tiny = std::numeric_limits<double>::denorm_min();
  Between inclusive{0.0, std::nullopt};
  Between strict{0.0, std::nullopt, /*strict_min=*/true};
  EXPECT_EQ(BetweenFailures(inclusive, "amount", {0.0, -0.0, tiny, -tiny}), 1);  // -tiny
  EXPECT_EQ(BetweenFailures(strict, "amount", {0.0, -0.0, tiny, -tiny}), 3);     // all but tiny
}

TEST(StrictBetweenTest, StrictMaxExcludesTheBoundOnly) {
  const double below = std::nextafter(10.0, 0.0);
  Between inclusive{std::nullopt, 10.0};
  Between strict{std::nullopt, 10.0, false, /*strict_max=*/true};
  EXPECT_EQ(BetweenFailures(inclusive, "amount", {10.0, below, std::nextafter(10.0, 11.0)}), 1);
  EXPECT_EQ(BetweenFailures(strict, "amount", {10.0, below, std::nextafter(10.0, 11.0)}), 2);
}

TEST(StrictBetweenTest, IntegerAndTimestampBoundsAreExact) {
  Between both{5.0, 7.0, true, true};
  EXPECT_EQ(BetweenFailures(both, "id", {int64_t{4}, int64_t{5}, int64_t{6}, int64_t{7}, int64_t{8}}), 4);
  // 2^53 + 1 is not a double; the comparison must not round it onto the bound.
  const int64_t big = (int64_t{1} << 53);
  Between above_big{static_cast<double>(big), std::nullopt, true};
  EXPECT_EQ(BetweenFailures(above_big, "id", {big, big + 1}), 1);
  Between before{std::nullopt, 1000.0, false, true};
  EXPECT_EQ(BetweenFailures(before, "at", {Timestamp{999}, Timestamp{1000}}), 1);
}

TEST(StrictBetweenTest, NaNFailsAndNullIsNotChecked) {
  Between strict{0.0, 1.0, true, true};
  EXPECT_EQ(BetweenFailures(strict, "amount", {0.5, std::nan("")}), 1);
  const ValidationReport r = Validate({Expectation{strict, "amount"}}, {R(Value()), R(Value(), 0.5)});
  EXPECT_EQ(r.results[0].element_count, 1);
  EXPECT_TRUE(r.success);
}

TEST(StrictBetweenTest, SuiteRejectsStrictWithoutBoundAndEmptyRange) {
  auto error = [](Between b) {
    return std::string(ValidateSuite(TestSchema(), Suite({Expectation{b, "amount"}})).message());
  };
  EXPECT_THAT(error(Between{std::nullopt, 1.0, true}), HasSubstr("strict_min without a min"));
  EXPECT_THAT(error(Between{0.0, std::nullopt, false, true}), HasSubstr("strict_max without a max"));
  EXPECT_THAT(error(Between{2.0, 2.0, false, true}), HasSubstr("no value can pass"));
  EXPECT_TRUE(ValidateSuite(TestSchema(), Suite({Expectation{Between{2.0, 2.0}, "amount"}})).ok());
  EXPECT_EQ(DescribeExpectation(Expectation{Between{0.0, 1.0, true}, "amount"}),
            "between(amount, min=0, max=1, strict_min) [error]");
}

// Parent: amounts 1, 2, 3 (and one NULL); batch: 10, 20. Version: 1, 2, 3,
// 10, 20: mean 36 / 5 = 7.2; squared deviations 38.44 + 27.04 + 17.64 +
// 7.84 + 163.84 = 254.8, population stddev sqrt(254.8 / 5) = sqrt(50.96).
const std::vector<Row> kParentRows = {R(int64_t{1}, 1.0), R(int64_t{2}, 2.0), R(int64_t{3}, 3.0),
                                      R(int64_t{4})};
const std::vector<Row> kBatchRows = {R(int64_t{5}, 10.0), R(int64_t{6}, 20.0)};

BatchValidatorOptions AppendOnto(const stats::DatasetProfile* parent, bool includes_parent = true) {
  BatchValidatorOptions o;
  o.parent_profile = parent;
  o.version_includes_parent = includes_parent;
  return o;
}

TEST(VersionScopeTest, MeanAndStddevCoverParentPlusBatch) {
  const stats::DatasetProfile parent = ProfileOf(kParentRows);
  const ValidationReport r = Validate(
      {Expectation{MeanBetween{7.0, 7.5, AggregateScope::kVersion}, "amount"},
       Expectation{StddevBetween{7.0, 7.2, AggregateScope::kVersion}, "amount"},
       Expectation{MeanBetween{7.0, 7.5, AggregateScope::kBatch}, "amount"}},
      kBatchRows, AppendOnto(&parent));
  EXPECT_NEAR(r.results[0].observed_value, 7.2, 1e-12);
  EXPECT_EQ(r.results[0].element_count, 5);
  EXPECT_TRUE(r.results[0].passed);
  EXPECT_THAT(r.results[0].detail, HasSubstr("in the version (parent 3 + batch 2)"));
  EXPECT_NEAR(r.results[1].observed_value, std::sqrt(50.96), 1e-12);
  EXPECT_TRUE(r.results[1].passed);
  EXPECT_EQ(r.results[2].observed_value, 15.0);  // the batch alone
  EXPECT_FALSE(r.results[2].passed);
  EXPECT_EQ(r.error_failures, 1);
}

TEST(VersionScopeTest, RowCountAddsTheParentsRows) {
  const stats::DatasetProfile parent = ProfileOf(kParentRows);
  const std::vector<Expectation> suite = {
      Expectation{RowCountBetween{6, 6, AggregateScope::kVersion}, ""},
      Expectation{RowCountBetween{6, std::nullopt, AggregateScope::kBatch}, ""}};
  const ValidationReport append = Validate(suite, kBatchRows, AppendOnto(&parent));
  EXPECT_EQ(append.results[0].observed_value, 6);
  EXPECT_TRUE(append.results[0].passed);
  EXPECT_EQ(append.results[0].detail, "6 rows in the version (parent 4 + batch 2); expected [6, 6]");
  EXPECT_EQ(append.results[1].observed_value, 2);
  EXPECT_FALSE(append.results[1].passed);
}

TEST(VersionScopeTest, ReplaceAndFirstVersionMeasureTheBatch) {
  const stats::DatasetProfile parent = ProfileOf(kParentRows);
  const std::vector<Expectation> suite = {
      Expectation{RowCountBetween{std::nullopt, 2, AggregateScope::kVersion}, ""},
      Expectation{MeanBetween{15.0, 15.0, AggregateScope::kVersion}, "amount"}};
  for (const BatchValidatorOptions& o : {AppendOnto(&parent, false), AppendOnto(nullptr)}) {
    const ValidationReport r = Validate(suite, kBatchRows, o);
    EXPECT_TRUE(r.success);
    EXPECT_EQ(r.results[0].observed_value, 2);
    EXPECT_EQ(r.results[1].observed_value, 15.0);
    EXPECT_THAT(r.results[1].detail, HasSubstr("in the version (the batch alone)"));
  }
}

TEST(VersionScopeTest, ParentValuesAloneAreEnoughForTheMean) {
  // A batch with only NULL amounts: the version still has the parent's values.
  const stats::DatasetProfile parent = ProfileOf(kParentRows);
  const ValidationReport r =
      Validate({Expectation{MeanBetween{2.0, 2.0, AggregateScope::kVersion}, "amount"},
                Expectation{MeanBetween{2.0, 2.0, AggregateScope::kBatch}, "amount"}},
               {R(int64_t{9})}, AppendOnto(&parent));
  EXPECT_TRUE(r.results[0].passed);
  EXPECT_EQ(r.results[0].element_count, 3);
  EXPECT_FALSE(r.results[1].passed);  // nothing to measure in the batch
  EXPECT_TRUE(std::isnan(r.results[1].observed_value));
}

TEST(VersionScopeTest, DescribeNamesTheScope) {
  EXPECT_EQ(DescribeExpectation(Expectation{MeanBetween{std::nullopt, 50.0, AggregateScope::kVersion},
                                            "amount"}),
            "mean_between(amount, max=50, scope=version) [error]");
  EXPECT_EQ(DescribeExpectation(Expectation{RowCountBetween{1, std::nullopt}, ""}),
            "row_count_between(min=1) [error]");
}

}  // namespace
}  // namespace mlops::ingestion
