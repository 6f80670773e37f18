// Expectations that need the stored parent, through gRPC over a real
// Postgres: row count and mean / stddev with SCOPE_VERSION over two and three
// versions (APPEND and REPLACE, IngestBatch and ValidateBatch), and strict
// `between` bounds.
#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingestion/ingestion_pg_fixture.h"

namespace mlops::ingestion {
namespace {

namespace cv1 = ::mlops::common::v1;
using ::testing::HasSubstr;

// id i, amount 1.5 * i, label NULL, ts.
std::vector<cv1::Row> AmountRows(int64_t from, int64_t to) {
  std::vector<cv1::Row> rows;
  for (int64_t i = from; i < to; ++i) {
    cv1::Row r;
    r.add_values()->set_int64_value(i);
    r.add_values()->set_double_value(1.5 * static_cast<double>(i));
    r.add_values();
    r.add_values()->set_timestamp_micros(1'700'000'000'000'000 + i);
    rows.push_back(std::move(r));
  }
  return rows;
}

// Population stddev of 1.5 * {from, ..., to - 1}: 1.5 * sqrt((n^2 - 1) / 12).
double AmountStddev(int64_t from, int64_t to) {
  const double n = static_cast<double>(to - from);
  return 1.5 * std::sqrt((n * n - 1) / 12);
}

class ExpectationScopeTest : public IngestionPgFixture {
 protected:
  void CreateDataset(const std::string& name, const std::vector<v1::Expectation>& exps) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::CreateDatasetRequest req;
    req.set_name(name);
    *req.mutable_schema() = TxSchema();
    for (const auto& e : exps) *req.add_expectations() = e;
    v1::Dataset resp;
    const grpc::Status s = stub_->CreateDataset(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // row_count <= 20, mean(amount) <= 15 (errors) and stddev(amount) >= 8
  // (a warning), all over the version.
  static std::vector<v1::Expectation> VersionSuite() {
    std::vector<v1::Expectation> exps(3);
    exps[0].mutable_row_count()->set_max(20);
    exps[0].mutable_row_count()->set_scope(v1::SCOPE_VERSION);
    exps[1].set_column("amount");
    exps[1].mutable_mean_between()->set_max(15);
    exps[1].mutable_mean_between()->set_scope(v1::SCOPE_VERSION);
    exps[2].set_column("amount");
    exps[2].set_severity(v1::SEVERITY_WARN);
    exps[2].mutable_stddev_between()->set_min(8);
    exps[2].mutable_stddev_between()->set_scope(v1::SCOPE_VERSION);
    return exps;
  }

  static double Observed(const v1::ValidationReport& r, int i) {
    return r.results(i).observed_value().double_value();
  }
};

TEST_F(ExpectationScopeTest, AppendMeasuresParentPlusBatch) {
  CreateDataset("tx", VersionSuite());
  // Version 1: ids 0..9, mean 6.75; the stddev warning fails.
  IngestResult v1 = Ingest("tx", AmountRows(0, 10));
  ASSERT_TRUE(v1.status.ok()) << v1.status.error_message();
  ASSERT_EQ(v1.resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  EXPECT_EQ(Observed(v1.resp.report(), 0), 10);
  EXPECT_DOUBLE_EQ(Observed(v1.resp.report(), 1), 6.75);
  EXPECT_FALSE(v1.resp.report().results(2).passed());
  EXPECT_EQ(v1.resp.report().warning_count(), 1);

  // Version 2 appends ids 10..19: the batch's mean (21.75) would fail, the
  // version's (14.25) passes; the version's stddev passes the warning too.
  IngestResult v2 = Ingest("tx", AmountRows(10, 20));
  ASSERT_EQ(v2.resp.outcome(), v1::INGEST_OUTCOME_COMMITTED) << v2.resp.report().DebugString();
  EXPECT_EQ(Observed(v2.resp.report(), 0), 20);
  EXPECT_NEAR(Observed(v2.resp.report(), 1), 14.25, 1e-12);
  EXPECT_NEAR(Observed(v2.resp.report(), 2), AmountStddev(0, 20), 1e-9);
  EXPECT_EQ(v2.resp.report().results(1).element_count(), 20);
  EXPECT_THAT(v2.resp.report().results(1).detail(), HasSubstr("parent 10 + batch 10"));
  EXPECT_EQ(v2.resp.report().warning_count(), 0);

  // A 21st row breaks the version's row count: the dry run says so, and the
  // real batch is rejected with nothing stored.
  const v1::ValidateBatchResponse dry = ValidateRows("tx", AmountRows(20, 21));
  EXPECT_FALSE(dry.report().passed());
  EXPECT_EQ(Observed(dry.report(), 0), 21);
  EXPECT_FALSE(dry.report().results(0).passed());
  IngestResult v3 = Ingest("tx", AmountRows(20, 21));
  EXPECT_EQ(v3.resp.outcome(), v1::INGEST_OUTCOME_REJECTED);
  EXPECT_EQ(VersionCount("tx"), 2);
}

TEST_F(ExpectationScopeTest, ReplaceMeasuresTheBatchAlone) {
  CreateDataset("tx", VersionSuite());
  ASSERT_EQ(Ingest("tx", AmountRows(0, 20)).resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  // Appended, ids 100..104 give the version a mean of 36.9 and 25 rows;
  // replacing, the version is those 5 rows alone: mean 153, too high.
  const v1::ValidateBatchResponse dry =
      ValidateRows("tx", AmountRows(100, 105), v1::INGEST_MODE_REPLACE);
  EXPECT_EQ(Observed(dry.report(), 0), 5);
  EXPECT_DOUBLE_EQ(Observed(dry.report(), 1), 153);
  EXPECT_FALSE(dry.report().passed());
  IngestResult low = Ingest("tx", AmountRows(0, 5), "", true, v1::INGEST_MODE_REPLACE);
  ASSERT_EQ(low.resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
  EXPECT_EQ(Observed(low.resp.report(), 0), 5);
  EXPECT_DOUBLE_EQ(Observed(low.resp.report(), 1), 3);
  EXPECT_NEAR(Observed(low.resp.report(), 2), AmountStddev(0, 5), 1e-12);
}

TEST_F(ExpectationScopeTest, StrictBetweenRejectsTheBoundValue) {
  v1::Expectation e;
  e.set_column("amount");
  e.mutable_between()->mutable_min()->set_double_value(0);
  e.mutable_between()->set_strict_min(true);
  e.mutable_between()->mutable_max()->set_double_value(3);
  CreateDataset("tx", {e});
  IngestResult r = Ingest("tx", AmountRows(0, 3));  // amounts 0, 1.5, 3
  ASSERT_EQ(r.resp.outcome(), v1::INGEST_OUTCOME_REJECTED);
  EXPECT_EQ(r.resp.report().results(0).failing_count(), 1);
  ASSERT_EQ(r.resp.report().results(0).examples_size(), 1);
  EXPECT_EQ(r.resp.report().results(0).examples(0).row_index(), 0);
  EXPECT_EQ(Ingest("tx", AmountRows(1, 3)).resp.outcome(), v1::INGEST_OUTCOME_COMMITTED);
}

}  // namespace
}  // namespace mlops::ingestion
