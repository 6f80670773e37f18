// Automatic references on promotion: a fake registry (on a real 127.0.0.1
// port, so that it can be down at start, stop and come back) streams
// WatchDeployments; a fake feature service answers the historical retrieval
// over the training dataset version; the real MonitoringServiceImpl stores
// the reference in Postgres.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/testing/grpc_test_server.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server_builder.h"
#include "services/monitoring/auto_reference.h"
#include "services/monitoring/deployment_follower.h"
#include "services/monitoring/monitoring_pgtest_fixture.h"
#include "services/monitoring/reference_builder.h"
#include "services/monitoring/training_data_clients.h"

namespace mlops::monitoring {
namespace {

namespace fv1 = ::mlops::features::v1;
namespace rv1 = ::mlops::registry::v1;
namespace cv1 = ::mlops::common::v1;

const std::string kDatasetVersion(64, 'a');

// The registry: model versions by (model, version); WatchDeployments sends a
// snapshot of the production versions, then the changes pushed.
class FakeRegistry : public rv1::RegistryService::Service {
 public:
  void AddVersion(const rv1::ModelVersion& v) {
    std::lock_guard<std::mutex> lock(mu_);
    versions_[{v.model(), v.version()}] = v;
  }
  // Promotes model@version: the snapshot shows it from now on and open
  // streams receive a CHANGE.
  void Promote(const std::string& model, int64_t version) {
    std::lock_guard<std::mutex> lock(mu_);
    production_[model] = version;
    rv1::WatchDeploymentsResponse msg;
    msg.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_CHANGE);
    msg.set_sequence(++sequence_);
    msg.mutable_model()->set_model(model);
    msg.mutable_model()->set_production_version(version);
    msg.mutable_change()->set_kind(rv1::DEPLOYMENT_CHANGE_KIND_STAGE_CHANGED);
    msg.mutable_change()->set_to_stage(rv1::STAGE_PRODUCTION);
    changes_.push_back(msg);
    cv_.notify_all();
  }
  grpc::Status GetModelVersion(grpc::ServerContext*, const rv1::GetModelVersionRequest* req,
                               rv1::ModelVersion* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = versions_.find({req->model(), req->version()});
    if (it == versions_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such version");
    *resp = it->second;
    return grpc::Status::OK;
  }
  grpc::Status WatchDeployments(grpc::ServerContext* ctx, const rv1::WatchDeploymentsRequest*,
                                grpc::ServerWriter<rv1::WatchDeploymentsResponse>* writer) override {
    std::unique_lock<std::mutex> lock(mu_);
    size_t next = changes_.size();
    for (const auto& [model, version] : production_) {
      rv1::WatchDeploymentsResponse msg;
      msg.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT);
      msg.mutable_model()->set_model(model);
      msg.mutable_model()->set_production_version(version);
      writer->Write(msg);
    }
    rv1::WatchDeploymentsResponse complete;
    complete.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE);
    writer->Write(complete);
    for (int i = 0; i < 600 && !ctx->IsCancelled(); ++i) {  // at most 60 s
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      for (; next < changes_.size(); ++next) writer->Write(changes_[next]);
    }
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, int64_t>, rv1::ModelVersion> versions_;
  std::map<std::string, int64_t> production_;
  std::vector<rv1::WatchDeploymentsResponse> changes_;
  int64_t sequence_ = 0;
};

// A registry server on 127.0.0.1:`port` (0: any); stopping it drops the
// streams as a killed registry would.
class RegistryServer {
 public:
  explicit RegistryServer(FakeRegistry* registry, int port = 0) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(registry);
    server_ = builder.BuildAndStart();
  }
  ~RegistryServer() { server_->Shutdown(std::chrono::system_clock::now()); }
  int port() const { return port_; }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// The training rows of the dataset: customer_id, ts, amount, is_fraud; the
// features spend_1h (DOUBLE) and txn_10m (INT64) computed as a function of
// the row. The first `failures` calls answer UNAVAILABLE.
class FakeFeatures : public fv1::FeatureService::Service {
 public:
  explicit FakeFeatures(int rows, int failures = 0) : rows_(rows), failures_(failures) {}
  static double Amount(int i) { return 10.0 + (i * 37 % 1000) / 10.0; }
  static double Spend(int i) { return 100.0 + (i * 53 % 700); }
  static int64_t Count(int i) { return i % 9; }

  grpc::Status GetHistoricalFeatures(
      grpc::ServerContext*, const fv1::GetHistoricalFeaturesRequest* req,
      grpc::ServerWriter<fv1::GetHistoricalFeaturesResponse>* writer) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(*req);
      if (failures_ > 0) {
        --failures_;
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "feature service restarting");
      }
    }
    fv1::GetHistoricalFeaturesResponse header;
    cv1::Schema* schema = header.mutable_header()->mutable_schema();
    for (auto [name, type] : {std::pair{"customer_id", cv1::DATA_TYPE_INT64},
                              {"ts", cv1::DATA_TYPE_TIMESTAMP},
                              {"amount", cv1::DATA_TYPE_DOUBLE},
                              {"is_fraud", cv1::DATA_TYPE_BOOL},
                              {"spend_1h", cv1::DATA_TYPE_DOUBLE},
                              {"txn_10m", cv1::DATA_TYPE_INT64}}) {
      cv1::Column* c = schema->add_columns();
      c->set_name(name);
      c->set_type(type);
    }
    header.mutable_header()->set_row_count(rows_);
    writer->Write(header);
    fv1::GetHistoricalFeaturesResponse chunk;
    for (int i = 0; i < rows_; ++i) {
      cv1::Row* row = chunk.mutable_chunk()->add_rows();
      row->add_values()->set_int64_value(i % 50);
      row->add_values()->set_timestamp_micros(kNow - kMinute + i);
      row->add_values()->set_double_value(Amount(i));
      row->add_values()->set_bool_value(i % 20 == 0);
      row->add_values()->set_double_value(Spend(i));
      row->add_values()->set_int64_value(Count(i));
      if (chunk.chunk().rows_size() == 256 || i + 1 == rows_) {
        writer->Write(chunk);
        chunk.Clear();
      }
    }
    return grpc::Status::OK;
  }
  std::vector<fv1::GetHistoricalFeaturesRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  const int rows_;
  std::mutex mu_;
  int failures_;
  std::vector<fv1::GetHistoricalFeaturesRequest> requests_;
};

// A profile of the dataset version (raw-column models).
class FakeProfiles : public ProfileSource {
 public:
  absl::StatusOr<cv1::DatasetProfile> GetDatasetProfile(const std::string& version) override {
    if (version != kDatasetVersion) return absl::NotFoundError("unknown dataset version");
    cv1::DatasetProfile p;
    p.set_row_count(3);
    for (const char* name : {"ts", "amount", "is_fraud"}) {
      cv1::ColumnProfile* c = p.add_columns();
      c->set_name(name);
      c->set_type(std::string(name) == "is_fraud" ? cv1::DATA_TYPE_BOOL : cv1::DATA_TYPE_DOUBLE);
      c->set_count(3);
      if (c->type() == cv1::DATA_TYPE_DOUBLE) {
        for (double e : {0.0, 10.0, 20.0}) c->mutable_histogram()->add_edges(e);
        c->mutable_histogram()->add_counts(1);
        c->mutable_histogram()->add_counts(2);
      }
    }
    return p;
  }
};

class Outcomes : public AutoReferenceCounters {
 public:
  void AutoReference(const std::string& outcome) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[outcome];
  }
  int Count(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[outcome];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

// fraud@version: amount (raw), spend_1h and txn_10m (features).
rv1::ModelVersion FeatureModel(int64_t version) {
  rv1::ModelVersion v;
  v.set_model("fraud");
  v.set_version(version);
  v.mutable_lineage()->set_training_dataset_name("card_transactions");
  v.mutable_lineage()->set_training_dataset_version(kDatasetVersion);
  v.mutable_signature()->mutable_entity_key()->set_name("customer_id");
  auto add = [&](const char* name, cv1::DataType type, const char* ref) {
    rv1::SignatureInput* in = v.mutable_signature()->add_inputs();
    in->set_name(name);
    in->set_type(type);
    in->set_feature_ref(ref);
  };
  add("amount", cv1::DATA_TYPE_DOUBLE, "");
  add("spend_1h", cv1::DATA_TYPE_DOUBLE, "card_activity@1:spend_1h");
  add("txn_10m", cv1::DATA_TYPE_INT64, "card_activity@1:txn_10m");
  return v;
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

class AutoReferencePgTest : public MonitoringServicePgTest {
 protected:
  void SetUp() override {
    MonitoringServicePgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MLOPS_ASSERT_OK_AND_ASSIGN(features_server_, GrpcTestServer::Start({&features_}));
    sink_ = std::make_unique<ServiceReferenceSink>(service_.get());
  }
  void TearDown() override {
    if (follower_) follower_->Stop();
    if (referencer_) referencer_->Stop();
    follower_.reset();
    referencer_.reset();
    registry_server_.reset();
    features_server_.reset();
    MonitoringServicePgTest::TearDown();
  }

  // The referencer and the follower of a registry at 127.0.0.1:`port`.
  void StartFollowing(int port, AutoReferencerOptions options = {}) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    versions_ = std::make_unique<GrpcModelVersionSource>(channel, Context);
    rows_ = std::make_unique<GrpcTrainingRowSource>(features_server_->InProcessChannel(), Context);
    referencer_ = std::make_unique<AutoReferencer>(versions_.get(), rows_.get(), &profiles_,
                                                   sink_.get(), &outcomes_, options);
    referencer_->Start();
    DeploymentFollowerOptions follow;
    follow.min_backoff = std::chrono::milliseconds(50);
    follow.max_backoff = std::chrono::milliseconds(300);
    AutoReferencer* referencer = referencer_.get();
    follower_ = std::make_unique<DeploymentFollower>(
        channel, Context,
        [referencer](const std::string& model, int64_t version) {
          referencer->OnProduction(model, version);
        },
        follow);
    follower_->Start();
  }

  // The reference of fraud@version once it exists (at most 20 s).
  std::optional<v1::Reference> AwaitReference(int64_t version) {
    for (int i = 0; i < 400; ++i) {
      v1::GetReferenceRequest req;
      req.set_model("fraud");
      req.set_version(version);
      v1::Reference ref;
      if (stub_->GetReference(As("t-viewer").get(), req, &ref).ok()) return ref;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
  }

  FakeRegistry registry_;
  FakeFeatures features_{2000};
  FakeProfiles profiles_;
  Outcomes outcomes_;
  std::unique_ptr<GrpcTestServer> features_server_;
  std::unique_ptr<RegistryServer> registry_server_;
  std::unique_ptr<ServiceReferenceSink> sink_;
  std::unique_ptr<GrpcModelVersionSource> versions_;
  std::unique_ptr<GrpcTrainingRowSource> rows_;
  std::unique_ptr<AutoReferencer> referencer_;
  std::unique_ptr<DeploymentFollower> follower_;
};

TEST_F(AutoReferencePgTest, PromotionSetsTheReferenceFromTheTrainingFeatures) {
  registry_.AddVersion(FeatureModel(3));
  registry_server_ = std::make_unique<RegistryServer>(&registry_);
  AutoReferencerOptions options;
  options.max_rows = 500;
  StartFollowing(registry_server_->port(), options);
  registry_.Promote("fraud", 3);
  std::optional<v1::Reference> ref = AwaitReference(3);
  ASSERT_TRUE(ref.has_value());
  EXPECT_TRUE(ref->automatic());
  EXPECT_EQ(ref->source(), v1::REFERENCE_SOURCE_DATASET_VERSION);
  EXPECT_EQ(ref->dataset_version(), kDatasetVersion);
  EXPECT_EQ(ref->set_by(), kAutomaticReferencePrincipal);
  EXPECT_EQ(ref->raw_values_per_feature(), 500);

  // The retrieval: the training dataset version, the signature's key and refs.
  std::vector<fv1::GetHistoricalFeaturesRequest> requests = features_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].dataset().dataset(), "card_transactions");
  EXPECT_EQ(requests[0].dataset().version_id(), kDatasetVersion);
  EXPECT_EQ(requests[0].entity_key_column(), "customer_id");
  EXPECT_THAT(requests[0].feature_refs(),
              testing::ElementsAre("card_activity@1:spend_1h", "card_activity@1:txn_10m"));

  // Features and bins: exactly the profile of every 4th training row (2000
  // rows sampled to 500), the inputs in signature order.
  v1::InlineRows expected;
  for (auto [name, type] : {std::pair{"amount", cv1::DATA_TYPE_DOUBLE},
                            {"spend_1h", cv1::DATA_TYPE_DOUBLE},
                            {"txn_10m", cv1::DATA_TYPE_INT64}}) {
    cv1::Column* c = expected.mutable_schema()->add_columns();
    c->set_name(name);
    c->set_type(type);
  }
  for (int i = 0; i < 2000; i += 4) {
    cv1::Row* row = expected.add_rows();
    row->add_values()->set_double_value(FakeFeatures::Amount(i));
    row->add_values()->set_double_value(FakeFeatures::Spend(i));
    row->add_values()->set_int64_value(FakeFeatures::Count(i));
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(BuiltReference built, ReferenceFromRows(expected, 100'000));
  ASSERT_EQ(ref->profile().columns_size(), 3);
  EXPECT_EQ(ref->profile().columns(0).name(), "amount");
  EXPECT_EQ(ref->profile().columns(1).name(), "spend_1h");
  EXPECT_EQ(ref->profile().columns(2).name(), "txn_10m");
  EXPECT_EQ(ref->profile().row_count(), 500);
  EXPECT_FALSE(ref->profile().columns(0).histogram().edges().empty());
  EXPECT_EQ(ref->profile().SerializeAsString(), built.profile.SerializeAsString());
  EXPECT_EQ(outcomes_.Count("set"), 1);

  // A reconnection's snapshot shows fraud@3 again: nothing is rebuilt.
  const int port = registry_server_->port();
  registry_server_.reset();
  registry_server_ = std::make_unique<RegistryServer>(&registry_, port);
  for (int i = 0; i < 200 && !(follower_->connections() >= 2 && follower_->connected()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(follower_->connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(features_.requests().size(), 1u);
}

TEST_F(AutoReferencePgTest, RegistryDownAtStartThenUpThenKilledAndBack) {
  registry_.AddVersion(FeatureModel(1));
  registry_.AddVersion(FeatureModel(2));
  registry_.Promote("fraud", 1);
  int port = 0;
  { port = RegistryServer(&registry_).port(); }  // a free port, then nothing listens there
  StartFollowing(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_GE(follower_->connections(), 2);  // retrying, not crashed
  EXPECT_FALSE(follower_->connected());
  registry_server_ = std::make_unique<RegistryServer>(&registry_, port);
  ASSERT_EQ(registry_server_->port(), port);
  std::optional<v1::Reference> first = AwaitReference(1);  // from the snapshot
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->automatic());

  // The registry goes away (its streams drop) and comes back with fraud@2
  // promoted meanwhile: the fresh snapshot carries it.
  registry_server_.reset();
  registry_.Promote("fraud", 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  registry_server_ = std::make_unique<RegistryServer>(&registry_, port);
  std::optional<v1::Reference> second = AwaitReference(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(second->automatic());
  EXPECT_GE(follower_->connections(), 3);
}

TEST_F(AutoReferencePgTest, AReferenceSetByHandIsKept) {
  ASSERT_TRUE(SetRowsReference().ok());  // fraud@1, by alice
  registry_.AddVersion(FeatureModel(1));
  registry_server_ = std::make_unique<RegistryServer>(&registry_);
  StartFollowing(registry_server_->port());
  registry_.Promote("fraud", 1);
  for (int i = 0; i < 400 && outcomes_.Count("skipped") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(outcomes_.Count("skipped"), 1);
  std::optional<v1::Reference> ref = AwaitReference(1);
  ASSERT_TRUE(ref.has_value());
  EXPECT_FALSE(ref->automatic());
  EXPECT_EQ(ref->set_by(), "alice");
  EXPECT_TRUE(features_.requests().empty());
}

TEST_F(AutoReferencePgTest, FailuresAreCountedAndRetried) {
  FakeFeatures flaky(300, /*failures=*/2);
  MLOPS_ASSERT_OK_AND_ASSIGN(features_server_, GrpcTestServer::Start({&flaky}));
  registry_.AddVersion(FeatureModel(5));
  registry_server_ = std::make_unique<RegistryServer>(&registry_);
  AutoReferencerOptions options;
  options.first_retry_micros = 50'000;
  options.max_retry_micros = 200'000;
  StartFollowing(registry_server_->port(), options);
  registry_.Promote("fraud", 5);
  std::optional<v1::Reference> ref = AwaitReference(5);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->profile().row_count(), 300);
  EXPECT_EQ(flaky.requests().size(), 3u);
  EXPECT_EQ(referencer_->failures(), 2);
  EXPECT_EQ(outcomes_.Count("failed"), 2);
  EXPECT_EQ(outcomes_.Count("set"), 1);
  referencer_->Stop();  // before `flaky` goes
  follower_->Stop();
  features_server_.reset();
}

TEST_F(AutoReferencePgTest, RawColumnModelTakesTheIngestionProfile) {
  rv1::ModelVersion v;
  v.set_model("fraud");
  v.set_version(7);
  v.mutable_lineage()->set_training_dataset_version(kDatasetVersion);
  rv1::SignatureInput* in = v.mutable_signature()->add_inputs();
  in->set_name("amount");
  in->set_type(cv1::DATA_TYPE_DOUBLE);
  registry_.AddVersion(v);
  registry_server_ = std::make_unique<RegistryServer>(&registry_);
  StartFollowing(registry_server_->port());
  registry_.Promote("fraud", 7);
  std::optional<v1::Reference> ref = AwaitReference(7);
  ASSERT_TRUE(ref.has_value());
  EXPECT_TRUE(ref->automatic());
  EXPECT_EQ(ref->dataset_version(), kDatasetVersion);
  ASSERT_EQ(ref->profile().columns_size(), 1);  // ts and is_fraud left out
  EXPECT_EQ(ref->profile().columns(0).name(), "amount");
  EXPECT_THAT(ref->profile().columns(0).histogram().edges(), testing::ElementsAre(0, 10, 20));
  EXPECT_TRUE(features_.requests().empty());
}

TEST(AutoReferenceTest, RetryDelayDoublesUpToTheCap) {
  EXPECT_EQ(RetryDelayMicros(1, 5, 100), 5);
  EXPECT_EQ(RetryDelayMicros(2, 5, 100), 10);
  EXPECT_EQ(RetryDelayMicros(4, 5, 100), 40);
  EXPECT_EQ(RetryDelayMicros(9, 5, 100), 100);
}

TEST(AutoReferenceTest, ModelInputsNeedATrainingDatasetVersion) {
  rv1::ModelVersion v = FeatureModel(1);
  v.mutable_lineage()->clear_training_dataset_version();
  EXPECT_EQ(ModelInputsOf(v).status().code(), absl::StatusCode::kFailedPrecondition);
  MLOPS_ASSERT_OK_AND_ASSIGN(ModelInputs inputs, ModelInputsOf(FeatureModel(1)));
  ASSERT_EQ(inputs.inputs.size(), 3u);
  EXPECT_EQ(inputs.inputs[1].feature_ref, "card_activity@1:spend_1h");
  EXPECT_EQ(inputs.entity_key, "customer_id");
}

}  // namespace
}  // namespace mlops::monitoring
