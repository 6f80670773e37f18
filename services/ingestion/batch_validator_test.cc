#include "services/ingestion/batch_validator.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Schema TestSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64, true),
               MakeColumn("amount", DataType::kDouble, true),
               MakeColumn("country", DataType::kString, true)};
  s.columns[1].allow_non_finite = true;
  return s;
}

Row R(Value id, Value amount = Value(), Value country = Value()) {
  return {std::move(id), std::move(amount), std::move(country)};
}

Expectation E(ExpectationRule rule, std::string column, Severity severity = Severity::kError,
              double mostly = 1.0) {
  return Expectation{std::move(rule), std::move(column), severity, mostly};
}

std::unique_ptr<BatchValidator> NewValidator(std::vector<Expectation> expectations,
                                             BatchValidatorOptions options = {}) {
  ExpectationSuite suite;
  suite.expectations = std::move(expectations);
  absl::StatusOr<std::unique_ptr<BatchValidator>> v =
      BatchValidator::Create(TestSchema(), suite, options);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : nullptr;
}

ValidationReport Validate(std::vector<Expectation> expectations, const std::vector<Row>& rows,
                     BatchValidatorOptions options = {}) {
  std::unique_ptr<BatchValidator> v = NewValidator(std::move(expectations), options);
  EXPECT_TRUE(v->AddChunk(rows).ok());
  absl::StatusOr<ValidationReport> report = v->Finish();
  EXPECT_TRUE(report.ok()) << report.status();
  return *std::move(report);
}

std::vector<int64_t> ExampleRows(const ExpectationResult& r) {
  std::vector<int64_t> rows;
  for (const FailingExample& e : r.examples) rows.push_back(e.row_index);
  return rows;
}

TEST(BatchValidatorTest, NotNullCountsNullRows) {
  const ValidationReport pass = Validate({E(NotNull{}, "id")}, {R(int64_t{1}), R(int64_t{2})});
  EXPECT_TRUE(pass.success);
  EXPECT_TRUE(pass.results[0].passed);
  EXPECT_EQ(pass.results[0].element_count, 2);

  const ValidationReport fail = Validate({E(NotNull{}, "id")}, {R(int64_t{1}), R(Value()), R(Value())});
  EXPECT_FALSE(fail.success);
  EXPECT_EQ(fail.error_failures, 1);
  const ExpectationResult& r = fail.results[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.element_count, 3);
  EXPECT_EQ(r.failing_count, 2);
  EXPECT_DOUBLE_EQ(r.observed_value, 2.0 / 3);
  EXPECT_THAT(ExampleRows(r), ElementsAre(1, 2));
  EXPECT_EQ(r.examples[0].value, "NULL");
  EXPECT_EQ(r.detail, "2 of 3 values failed");
}

TEST(BatchValidatorTest, MostlyAllowsAFractionToFail) {
  std::vector<Row> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(R(i < 3 ? Value() : Value(int64_t{i})));
  EXPECT_TRUE(Validate({E(NotNull{}, "id", Severity::kError, 0.7)}, rows).success);  // 7 of 10 pass
  EXPECT_FALSE(Validate({E(NotNull{}, "id", Severity::kError, 0.71)}, rows).success);
  EXPECT_TRUE(Validate({E(NotNull{}, "id", Severity::kError, 0.0)}, rows).success);
}

TEST(BatchValidatorTest, MostlyAppliesToEveryRowLevelRule) {
  // Half of the non-NULL values fail each rule.
  const std::vector<Row> rows = {R(int64_t{1}, 1.0, std::string("DE")), R(int64_t{1}, 50.0, std::string("xx")),
                                 R(int64_t{2}, 2.0, std::string("FR")), R(int64_t{3}, 60.0, std::string("yy"))};
  const std::vector<Expectation> half = {
      E(Between{0.0, 10.0}, "amount", Severity::kError, 0.5),
      E(InSet{{std::string("DE"), std::string("FR")}}, "country", Severity::kError, 0.5),
      E(MatchesRegex{"^[A-Z]+$"}, "country", Severity::kError, 0.5),
      E(Unique{}, "id", Severity::kError, 0.5)};
  const ValidationReport report = Validate(half, rows);
  EXPECT_TRUE(report.success);
  for (const ExpectationResult& r : report.results) {
    EXPECT_TRUE(r.passed) << DescribeExpectation(r.expectation);
    EXPECT_EQ(r.failing_count, 2) << DescribeExpectation(r.expectation);
    EXPECT_EQ(r.detail, "2 of 4 values failed; mostly=0.5");
  }
  std::vector<Expectation> stricter = half;
  for (Expectation& e : stricter) e.mostly = 0.6;
  EXPECT_EQ(Validate(stricter, rows).error_failures, 4);
}

TEST(BatchValidatorTest, AggregateWarningsAreRecordedOnly) {
  const ValidationReport report =
      Validate({E(MeanBetween{100.0, std::nullopt}, "amount", Severity::kWarn),
                E(RowCountBetween{std::nullopt, 0}, "", Severity::kWarn)},
               {R(int64_t{1}, 1.0)});
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.warn_failures, 2);
  EXPECT_FALSE(report.results[0].passed);
  EXPECT_FALSE(report.results[1].passed);
}

TEST(BatchValidatorTest, CapsExamplesAtTwenty) {
  std::vector<Row> rows(50, R(Value()));
  const ValidationReport report = Validate({E(NotNull{}, "id")}, rows);
  EXPECT_EQ(report.results[0].failing_count, 50);
  ASSERT_EQ(report.results[0].examples.size(), 20u);
  EXPECT_EQ(report.results[0].examples.back().row_index, 19);
  BatchValidatorOptions options;
  options.max_examples = 3;
  EXPECT_EQ(Validate({E(NotNull{}, "id")}, rows, options).results[0].examples.size(), 3u);
}

TEST(BatchValidatorTest, WarnFailuresDoNotBlockTheBatch) {
  const ValidationReport report =
      Validate({E(NotNull{}, "id", Severity::kWarn), E(NotNull{}, "amount")}, {R(Value(), 1.0)});
  EXPECT_TRUE(report.success);
  EXPECT_EQ(report.warn_failures, 1);
  EXPECT_EQ(report.error_failures, 0);
  EXPECT_FALSE(report.results[0].passed);
  EXPECT_TRUE(report.results[1].passed);
}

TEST(BatchValidatorTest, BetweenChecksNonNullValuesInclusively) {
  const std::vector<Row> rows = {R(int64_t{0}, 0.0), R(int64_t{1}, 10.0), R(int64_t{2}),
                                 R(int64_t{3}, 10.5), R(int64_t{4}, std::nan("")),
                                 R(int64_t{5}, -1.0)};
  const ExpectationResult r = Validate({E(Between{0.0, 10.0}, "amount")}, rows).results[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.element_count, 5);  // the NULL is not checked
  EXPECT_EQ(r.failing_count, 3);
  EXPECT_THAT(ExampleRows(r), ElementsAre(3, 4, 5));
  EXPECT_EQ(r.examples[0].value, "10.5");
  EXPECT_EQ(r.examples[1].value, "nan");
  EXPECT_TRUE(Validate({E(Between{std::nullopt, 10.0}, "amount")}, {R(int64_t{0}, -1e300)}).success);
}

TEST(BatchValidatorTest, BetweenComparesLargeIntegersExactly) {
  const int64_t big = (int64_t{1} << 53) + 1;  // not representable as a double
  const double bound = static_cast<double>(int64_t{1} << 53);
  EXPECT_FALSE(Validate({E(Between{std::nullopt, bound}, "id")}, {R(big)}).success);
  EXPECT_TRUE(Validate({E(Between{std::nullopt, bound}, "id")}, {R(big - 1)}).success);
}

TEST(BatchValidatorTest, InSetAcceptsOnlyListedValues) {
  const std::vector<Row> rows = {R(int64_t{1}, Value(), std::string("DE")),
                                 R(int64_t{2}, Value(), std::string("XX")),
                                 R(int64_t{3}, Value(), Value())};
  const ExpectationResult r =
      Validate({E(InSet{{std::string("DE"), std::string("FR")}}, "country")}, rows).results[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.element_count, 2);
  EXPECT_EQ(r.failing_count, 1);
  EXPECT_EQ(r.examples[0].row_index, 1);
  EXPECT_EQ(r.examples[0].value, "\"XX\"");
}

TEST(BatchValidatorTest, RegexMatchesAnywhereUnlessAnchored) {
  const std::vector<Row> rows = {R(int64_t{1}, Value(), std::string("DE")),
                                 R(int64_t{2}, Value(), std::string("xDEx")),
                                 R(int64_t{3}, Value(), std::string("de"))};
  EXPECT_EQ(Validate({E(MatchesRegex{"[A-Z]{2}"}, "country")}, rows).results[0].failing_count, 1);
  const ExpectationResult anchored =
      Validate({E(MatchesRegex{"^[A-Z]{2}$"}, "country")}, rows).results[0];
  EXPECT_EQ(anchored.failing_count, 2);
  EXPECT_THAT(ExampleRows(anchored), ElementsAre(1, 2));
}

TEST(BatchValidatorTest, UniqueFailsEveryOccurrenceAcrossChunks) {
  std::unique_ptr<BatchValidator> v = NewValidator({E(Unique{}, "id")});
  ASSERT_TRUE(v->AddChunk({R(int64_t{1}), R(int64_t{2})}).ok());
  ASSERT_TRUE(v->AddChunk({R(int64_t{1}), R(Value()), R(int64_t{3}), R(int64_t{1})}).ok());
  const ExpectationResult r = v->Finish()->results[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.element_count, 5);
  EXPECT_EQ(r.failing_count, 3);  // rows 0, 2 and 5 all hold 1
  EXPECT_THAT(ExampleRows(r), ElementsAre(2, 0, 5));
  EXPECT_EQ(r.examples[1].value, "1");
}

TEST(BatchValidatorTest, UniqueAcrossTheVersionAsksTheParent) {
  InMemoryExistingValues parent;
  parent.Add("id", int64_t{7});
  BatchValidatorOptions options;
  options.existing_values = &parent;
  const std::vector<Row> rows = {R(int64_t{7}), R(int64_t{8}), R(int64_t{8}), R(int64_t{9})};
  const ExpectationResult version =
      Validate({E(Unique{UniqueScope::kVersion}, "id")}, rows, options).results[0];
  EXPECT_EQ(version.failing_count, 3);
  EXPECT_THAT(ExampleRows(version), ElementsAre(2, 1, 0));
  // Batch scope ignores the parent.
  EXPECT_EQ(Validate({E(Unique{UniqueScope::kBatch}, "id")}, rows, options).results[0].failing_count, 2);
}

// An ExistingValues whose lookups fail, as a store that lost its connection.
class UnavailableValues final : public ExistingValues {
 public:
  absl::StatusOr<std::vector<bool>> Contains(std::string_view, const std::vector<Value>&) override {
    return absl::UnavailableError("store down");
  }
};

TEST(BatchValidatorTest, LookupErrorsAbortTheBatch) {
  UnavailableValues store;
  BatchValidatorOptions options;
  options.existing_values = &store;
  std::unique_ptr<BatchValidator> v = NewValidator({E(Unique{UniqueScope::kVersion}, "id")}, options);
  EXPECT_EQ(v->AddChunk({R(int64_t{1})}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(v->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BatchValidatorTest, RowCountBounds) {
  const std::vector<Row> rows = {R(int64_t{1}), R(int64_t{2})};
  EXPECT_TRUE(Validate({E(RowCountBetween{2, 2}, "")}, rows).success);
  const ExpectationResult r = Validate({E(RowCountBetween{3, std::nullopt}, "")}, rows).results[0];
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed_value, 2);
  EXPECT_EQ(r.detail, "2 rows; expected >= 3");
}

TEST(BatchValidatorTest, MeanAndStddevBounds) {
  // amount {1, 3}: mean 2, population stddev 1; NaN and NULL excluded.
  const std::vector<Row> rows = {R(int64_t{1}, 1.0), R(int64_t{2}, 3.0), R(int64_t{3}, std::nan("")),
                                 R(int64_t{4})};
  const ValidationReport report =
      Validate({E(MeanBetween{1.5, 2.5}, "amount"), E(StddevBetween{std::nullopt, 0.5}, "amount")}, rows);
  EXPECT_TRUE(report.results[0].passed);
  EXPECT_EQ(report.results[0].observed_value, 2.0);
  EXPECT_EQ(report.results[0].element_count, 2);
  EXPECT_FALSE(report.results[1].passed);
  EXPECT_EQ(report.results[1].observed_value, 1.0);
  EXPECT_EQ(report.results[1].detail, "stddev 1; expected <= 0.5");
  const ExpectationResult empty = Validate({E(MeanBetween{0.0, 1.0}, "amount")}, {R(int64_t{1})}).results[0];
  EXPECT_FALSE(empty.passed);
  EXPECT_TRUE(std::isnan(empty.observed_value));
}

stats::DatasetProfile ProfileOf(const std::vector<Row>& rows, BatchValidatorOptions options = {}) {
  std::unique_ptr<BatchValidator> v = NewValidator({}, options);
  EXPECT_TRUE(v->AddChunk(rows).ok());
  EXPECT_TRUE(v->Finish().ok());
  return v->profile();
}

TEST(BatchValidatorTest, DistributionDistanceAgainstTheParent) {
  std::vector<Row> first, same, shifted;
  for (int i = 0; i < 1000; ++i) {
    const std::string country = i % 4 == 0 ? "FR" : "DE";
    first.push_back(R(int64_t{i}, static_cast<double>(i % 100), country));
    same.push_back(R(int64_t{i}, static_cast<double>((i * 7) % 100), country));
    shifted.push_back(R(int64_t{i}, 50.0 + (i % 100), std::string(i % 2 ? "FR" : "US")));
  }
  const stats::DatasetProfile parent = ProfileOf(first);
  BatchValidatorOptions options;
  options.parent_profile = &parent;
  const std::vector<Expectation> suite = {
      E(DistributionDistance{DistanceMetric::kPsi, 0.1}, "amount"),
      E(DistributionDistance{DistanceMetric::kJensenShannon, 0.1}, "country")};
  const ValidationReport ok = Validate(suite, same, options);
  EXPECT_TRUE(ok.success);
  EXPECT_NEAR(ok.results[0].observed_value, 0.0, 1e-9);
  EXPECT_NEAR(ok.results[1].observed_value, 0.0, 1e-9);
  const ValidationReport drift = Validate(suite, shifted, options);
  EXPECT_FALSE(drift.results[0].passed);
  EXPECT_GT(drift.results[0].observed_value, 1.0);
  EXPECT_THAT(drift.results[0].detail, HasSubstr("PSI"));
  EXPECT_FALSE(drift.results[1].passed);
  // The batch's histogram uses the parent's (the dataset's) edges.
  EXPECT_EQ(drift.results[0].expectation.column, "amount");
  const ValidationReport no_parent = Validate(suite, shifted);
  EXPECT_TRUE(no_parent.success);
  EXPECT_EQ(no_parent.results[0].detail, "no parent version to compare with");
}

TEST(BatchValidatorTest, ProfilesTheBatchWithTheDatasetsEdges) {
  const stats::DatasetProfile parent = ProfileOf({R(int64_t{0}, 0.0), R(int64_t{1}, 10.0)});
  BatchValidatorOptions options;
  options.parent_profile = &parent;
  const stats::DatasetProfile batch = ProfileOf({R(int64_t{2}, 5.0), R(int64_t{3}, 20.0)}, options);
  EXPECT_EQ(batch.row_count, 2);
  ASSERT_EQ(batch.columns.size(), 3u);
  EXPECT_EQ(batch.columns[1].histogram.edges, parent.columns[1].histogram.edges);
  EXPECT_EQ(batch.columns[1].histogram.overflow, 1);
  absl::StatusOr<stats::DatasetProfile> version = stats::Merge(parent, batch);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->row_count, 4);
  EXPECT_DOUBLE_EQ(version->columns[1].mean, 8.75);
}

TEST(BatchValidatorTest, SchemaViolationsRejectTheBatchNamingRowAndColumn) {
  std::unique_ptr<BatchValidator> v = NewValidator({E(NotNull{}, "id")});
  ASSERT_TRUE(v->AddChunk({R(int64_t{1}), R(int64_t{2}), R(int64_t{3})}).ok());
  const absl::Status s = v->AddChunk({R(int64_t{4}), R(std::string("five"))});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "row 4, column \"id\": expected int64, got string");
  EXPECT_EQ(v->AddChunk({R(int64_t{6})}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(v->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BatchValidatorTest, CreateRejectsInvalidSuitesAndParents) {
  ExpectationSuite suite;
  suite.expectations = {E(NotNull{}, "missing")};
  absl::StatusOr<std::unique_ptr<BatchValidator>> v = BatchValidator::Create(TestSchema(), suite);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(), "expectation 0 (not_null): column \"missing\" is not in the schema");
  stats::DatasetProfile parent;
  parent.columns.push_back(stats::ColumnProfile{});
  parent.columns[0].name = "amount";
  parent.columns[0].type = DataType::kString;
  BatchValidatorOptions options;
  options.parent_profile = &parent;
  EXPECT_EQ(BatchValidator::Create(TestSchema(), {}, options).status().message(),
            "parent profile of column \"amount\" is string, schema says double");
}

TEST(BatchValidatorTest, ChunkingDoesNotChangeTheOutcome) {
  std::vector<Row> rows;
  for (int i = 0; i < 300; ++i) {
    rows.push_back(R(int64_t{i % 250}, i % 9 == 0 ? Value() : Value(i * 0.5),
                     std::string(i % 3 ? "a" : "b")));
  }
  const std::vector<Expectation> suite = {E(Unique{}, "id"), E(NotNull{}, "amount", Severity::kWarn),
                                          E(Between{0.0, 100.0}, "amount")};
  const ValidationReport whole = Validate(suite, rows);
  std::unique_ptr<BatchValidator> v = NewValidator(suite);
  for (size_t i = 0; i < rows.size(); i += 7) {
    ASSERT_TRUE(v->AddChunk(std::vector<Row>(rows.begin() + i,
                                             rows.begin() + std::min(rows.size(), i + 7)))
                    .ok());
  }
  const ValidationReport chunked = *v->Finish();
  ASSERT_EQ(whole.results.size(), chunked.results.size());
  for (size_t i = 0; i < whole.results.size(); ++i) {
    EXPECT_EQ(whole.results[i].failing_count, chunked.results[i].failing_count) << i;
    EXPECT_EQ(ExampleRows(whole.results[i]), ExampleRows(chunked.results[i])) << i;
  }
  EXPECT_EQ(whole.results[0].failing_count, 100);  // ids 0..49 appear twice
  EXPECT_EQ(v->profile().columns[1].count, 300);
}

}  // namespace
}  // namespace mlops::ingestion
