// Batch scoring with POINT_IN_TIME features against the real ingestion and
// feature services (in process, loopback gRPC, their own schemas in the
// test's database): each row's fetched inputs are the feature values as of
// the row's event time (the join training uses: a row before an entity's
// second event gets the first event's value, a row before its first event
// gets missing values), inputs present as columns are used as given, the
// view version joins the output's lineage; and the clear refusals: no event
// timestamp column, an unknown view or feature, an input neither a column
// nor fetchable.
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "mlops_migrations/features_migrations.h"
#include "services/features/features_stack.h"
#include "services/gateway/batch_features_client.h"
#include "services/gateway/testing/batch_fixture.h"

namespace mlops::gateway::testing {
namespace {

namespace fv1 = ::mlops::features::v1;
namespace rv1 = ::mlops::registry::v1;
using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

cv1::Value I(int64_t v) { cv1::Value x; x.set_int64_value(v); return x; }
cv1::Value D(double v) { cv1::Value x; x.set_double_value(v); return x; }
cv1::Value T(int64_t v) { cv1::Value x; x.set_timestamp_micros(v); return x; }

cv1::Row Row(std::vector<cv1::Value> values) {
  cv1::Row r;
  for (cv1::Value& v : values) *r.add_values() = std::move(v);
  return r;
}

void AddColumn(cv1::Schema* s, const std::string& name, cv1::DataType t, cv1::ColumnRole role) {
  cv1::Column* c = s->add_columns();
  c->set_name(name);
  c->set_type(t);
  c->set_role(role);
}

// customer_id (entity key), ts (with `ts_role`), then DOUBLE columns.
cv1::Schema KeyedSchema(const std::vector<std::string>& doubles,
                        cv1::ColumnRole ts_role = cv1::COLUMN_ROLE_EVENT_TIMESTAMP) {
  cv1::Schema s;
  AddColumn(&s, "customer_id", cv1::DATA_TYPE_INT64, cv1::COLUMN_ROLE_ENTITY_KEY);
  AddColumn(&s, "ts", cv1::DATA_TYPE_TIMESTAMP, ts_role);
  for (const std::string& d : doubles) AddColumn(&s, d, cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
  return s;
}

// The test model (4 inputs f0..f3) with f0 and f1 fetched from the view
// "cust", f2 present in the input (its ref names no feature: it must not be
// fetched) and f3 inline only.
rv1::ModelSignature PitSignature(const std::string& f0_ref = "cust:f0",
                                 const std::string& f1_ref = "cust@1:f1") {
  rv1::ModelSignature s = TestSignature(kCols);
  s.mutable_inputs(0)->set_feature_ref(f0_ref);
  s.mutable_inputs(1)->set_feature_ref(f1_ref);
  s.mutable_inputs(2)->set_feature_ref("cust:not_a_feature");
  s.mutable_inputs(3)->clear_feature_ref();
  return s;
}

// One input row: who, when, f2, f3, and the (f0, f1) the point-in-time join
// must give (NaN: no event yet).
struct Case {
  int64_t customer;
  int64_t ts;
  double f2, f3;
  float f0, f1;
};

class BatchPointInTimePgTest : public BatchPgTest {
 protected:
  void SetUp() override {
    BatchPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "features";
    features_pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*features_pool_, "features", features::EmbeddedMigrations()).status(),
                IsOk());
    features_prom_ = std::make_unique<prometheus::Registry>();
    MLOPS_ASSERT_OK_AND_ASSIGN(
        features_stack_,
        features::FeaturesStack::Create(
            features_pool_.get(), ingestion_server_->peer()->channel(),
            [](std::chrono::milliseconds deadline) {
              auto ctx = std::make_unique<grpc::ClientContext>();
              ctx->set_deadline(std::chrono::system_clock::now() + deadline);
              return ctx;
            },
            features_prom_.get(), &authorizer_, features::FeaturesStackOptions{}));
    MLOPS_ASSERT_OK_AND_ASSIGN(features_server_,
                               LoopbackServer::Start({features_stack_->service()}, "features"));
    features_client_ = std::make_unique<BatchFeaturesClient>(features_server_->peer());
    batch_features_ = features_client_.get();
    Restart();  // the gateway again, now with the feature service for batch scoring

    // Events: customer 1 at +100 s (f0 0.1, f1 0.2) and +200 s (0.9, 0.8);
    // customer 2 at +150 s (0.7, 0.6).
    MakeDataset("cust_events", KeyedSchema({"a", "b"}),
                {Row({I(1), T(kT0 + 100 * kSecond), D(0.1), D(0.2)}),
                 Row({I(2), T(kT0 + 150 * kSecond), D(0.7), D(0.6)}),
                 Row({I(1), T(kT0 + 200 * kSecond), D(0.9), D(0.8)})});
    fv1::FeatureViewSpec view;
    view.set_name("cust");
    view.set_source_dataset("cust_events");
    view.set_entity_key_column("customer_id");
    view.set_materialization(fv1::MATERIALIZATION_POLICY_MANUAL);
    for (auto [name, column] : {std::pair{"f0", "a"}, std::pair{"f1", "b"}}) {
      fv1::FeatureDefinition* f = view.add_features();
      f->set_name(name);
      f->mutable_raw()->set_column(column);
    }
    auto stub = fv1::FeatureService::NewStub(features_server_->peer()->channel());
    grpc::ClientContext ctx;
    fv1::RegisterFeatureViewRequest req;
    *req.mutable_spec() = view;
    fv1::RegisterFeatureViewResponse resp;
    const grpc::Status s = stub->RegisterFeatureView(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.view().version(), 1);
  }
  void TearDown() override {
    stack_.reset();  // the batch worker stops before the feature service goes
    features_server_.reset();
    features_stack_.reset();
    features_client_.reset();
    features_pool_.reset();
    BatchPgTest::TearDown();
  }

  // Registers model `model` v1 (the test model's trees) with `signature`.
  void AddModel(const std::string& model, const rv1::ModelSignature& signature) {
    registry_.AddVersion(model, 1, models_[1], signature, true);
  }
  iv1::SubmitBatchScoringRequest PitJob(const std::string& model, const std::string& input) {
    iv1::SubmitBatchScoringRequest req = Job(input);
    req.set_model(model);
    req.set_feature_source(iv1::BATCH_FEATURE_SOURCE_POINT_IN_TIME);
    req.set_output_dataset(absl::StrCat(model, "_scores"));
    return req;
  }
  // The score the model gives (f0, f1, f2, f3).
  double Score(const std::string& model, float f0, float f1, double f2, double f3) {
    absl::StatusOr<std::shared_ptr<const LoadedModel>> m = stack_->batch_models->Get(model, 1, "");
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return -1;
    const float x[] = {f0, f1, static_cast<float>(f2), static_cast<float>(f3)};
    absl::StatusOr<xgb::Prediction> p = (*m)->model->Predict(x, 1, kCols);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? static_cast<double>(p->values[0]) : -1;
  }

  std::unique_ptr<PgPool> features_pool_;
  std::unique_ptr<prometheus::Registry> features_prom_;
  std::unique_ptr<features::FeaturesStack> features_stack_;
  std::unique_ptr<LoopbackServer> features_server_;
  std::unique_ptr<BatchFeaturesClient> features_client_;
};

TEST_F(BatchPointInTimePgTest, ScoresEachRowWithTheFeaturesAsOfItsEventTime) {
  AddModel("pit", PitSignature());
  const std::vector<Case> cases = {
      {1, kT0 + 50 * kSecond, 0.3, 0.4, kNaN, kNaN},        // before customer 1's first event
      {1, kT0 + 100 * kSecond, 0.3, 0.4, 0.1f, 0.2f},       // at the first event: included
      {1, kT0 + 200 * kSecond - 1, 0.5, 0.4, 0.1f, 0.2f},   // 1 µs before the second
      {1, kT0 + 200 * kSecond, 0.5, 0.4, 0.9f, 0.8f},       // at the second
      {2, kT0 + 140 * kSecond, 0.2, 0.1, kNaN, kNaN},       // customer 2, before its event
      {2, kT0 + 160 * kSecond, 0.2, 0.1, 0.7f, 0.6f},
      {1, kT0 + 1000 * kSecond, 0.9, 0.9, 0.9f, 0.8f},
      {3, kT0 + 300 * kSecond, 0.9, 0.9, kNaN, kNaN},       // an entity the view never saw
  };
  std::vector<cv1::Row> rows;
  for (const Case& c : cases) rows.push_back(Row({I(c.customer), T(c.ts), D(c.f2), D(c.f3)}));
  const std::string input = MakeDataset("to_score", KeyedSchema({"f2", "f3"}), rows);

  iv1::BatchScoringJob job;
  const grpc::Status submitted = Submit(PitJob("pit", input), &job);
  ASSERT_TRUE(submitted.ok()) << submitted.error_message();
  EXPECT_EQ(job.feature_source(), iv1::BATCH_FEATURE_SOURCE_POINT_IN_TIME);
  job = AwaitFinished(job.job_id());
  ASSERT_EQ(job.state(), iv1::BATCH_JOB_STATE_SUCCEEDED) << job.error();
  EXPECT_EQ(job.rows_total(), static_cast<int64_t>(cases.size()));
  EXPECT_EQ(job.rows_scored(), static_cast<int64_t>(cases.size()));

  auto [schema, out] = ReadAll(job.output_dataset_version());
  std::vector<std::string> names;
  for (const cv1::Column& c : schema.columns()) names.push_back(c.name());
  EXPECT_THAT(names, ::testing::ElementsAre("customer_id", "ts", "prediction", "prediction_label"));
  ASSERT_EQ(out.size(), cases.size());
  for (std::size_t r = 0; r < cases.size(); ++r) {
    const Case& c = cases[r];
    EXPECT_EQ(out[r].values(0).int64_value(), c.customer) << r;
    EXPECT_EQ(out[r].values(1).timestamp_micros(), c.ts) << r;
    EXPECT_DOUBLE_EQ(out[r].values(2).double_value(), Score("pit", c.f0, c.f1, c.f2, c.f3)) << "row " << r;
  }
  // The rows just before customer 1's second event would score differently
  // with the later values (the join did not leak them).
  EXPECT_NE(Score("pit", 0.1f, 0.2f, 0.5, 0.4), Score("pit", 0.9f, 0.8f, 0.5, 0.4));
  EXPECT_NE(Score("pit", kNaN, kNaN, 0.3, 0.4), Score("pit", 0.1f, 0.2f, 0.3, 0.4));

  grpc::ClientContext ctx;
  inv1::GetDatasetVersionRequest get;
  get.mutable_version()->set_version_id(job.output_dataset_version());
  inv1::DatasetVersion written;
  ASSERT_TRUE(ingestion_stub_->GetDatasetVersion(&ctx, get, &written).ok());
  bool view_in_lineage = false;
  for (const cv1::ResourceRef& ref : written.lineage().inputs()) {
    view_in_lineage |= ref.kind() == cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION && ref.id() == "cust@1";
  }
  EXPECT_TRUE(view_in_lineage);
  EXPECT_THAT(written.source(), HasSubstr("point-in-time features of cust@1"));
}

TEST_F(BatchPointInTimePgTest, InputWithoutEventTimestampColumnIsRefusedNamingIt) {
  AddModel("pit", PitSignature());
  const std::string input = MakeDataset(
      "no_time", KeyedSchema({"f2", "f3"}, cv1::COLUMN_ROLE_METADATA),
      {Row({I(1), T(kT0), D(0.1), D(0.2)})});
  iv1::BatchScoringJob job;
  const grpc::Status s = Submit(PitJob("pit", input), &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("EVENT_TIMESTAMP"));
}

TEST_F(BatchPointInTimePgTest, UnknownViewOrFeatureIsNotFoundNamingTheRef) {
  AddModel("ghost_view", PitSignature("ghost:f0"));
  AddModel("ghost_feature", PitSignature("cust:f0", "cust:zz"));
  const std::string input = MakeDataset("to_score", KeyedSchema({"f2", "f3"}),
                                        {Row({I(1), T(kT0), D(0.1), D(0.2)})});
  iv1::BatchScoringJob job;
  grpc::Status s = Submit(PitJob("ghost_view", input), &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("model input \"f0\": feature_ref \"ghost:f0\""));
  s = Submit(PitJob("ghost_feature", input), &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("has no feature \"zz\""));
}

TEST_F(BatchPointInTimePgTest, InputNeitherAColumnNorFetchableIsRefusedNamingIt) {
  rv1::ModelSignature sig = PitSignature();
  sig.mutable_inputs(0)->clear_feature_ref();
  AddModel("inline_f0", sig);
  const std::string input = MakeDataset("to_score", KeyedSchema({"f2", "f3"}),
                                        {Row({I(1), T(kT0), D(0.1), D(0.2)})});
  iv1::BatchScoringJob job;
  const grpc::Status s = Submit(PitJob("inline_f0", input), &job);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("model input \"f0\""));
}

}  // namespace
}  // namespace mlops::gateway::testing
