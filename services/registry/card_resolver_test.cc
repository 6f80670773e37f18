// PeerCardResolver against fake ingestion, training and monitoring services on
// 127.0.0.1: resolved entries carry the peer's JSON, an unknown id, an
// unconfigured peer and a dead peer are marked unavailable with the reason.
#include "services/registry/card_resolver.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "mlops/training/v1/training.grpc.pb.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;
namespace cv1 = ::mlops::common::v1;

constexpr char kKnownVersion[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

class FakeIngestion final : public ingestion::v1::IngestionService::Service {
  grpc::Status GetDatasetVersion(grpc::ServerContext*,
                                 const ingestion::v1::GetDatasetVersionRequest* request,
                                 ingestion::v1::DatasetVersion* response) override {
    if (request->version().version_id() != kKnownVersion) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "dataset version not found");
    }
    response->set_id(kKnownVersion);
    response->set_row_count(42);
    response->mutable_report()->set_passed(request->include_report());
    return grpc::Status::OK;
  }
};

class FakeTraining final : public training::v1::TrainingService::Service {
  grpc::Status GetRun(grpc::ServerContext*, const training::v1::GetRunRequest* request,
                      training::v1::Run* response) override {
    response->set_id(request->run_id());
    return grpc::Status::OK;
  }
};

class FakeMonitoring final : public monitoring::v1::MonitoringService::Service {
  grpc::Status ListAlerts(grpc::ServerContext*, const monitoring::v1::ListAlertsRequest* request,
                          monitoring::v1::ListAlertsResponse* response) override {
    auto* alert = response->add_alerts();
    alert->set_id("alert-1");
    alert->set_model(request->model());
    alert->set_version(request->version());
    alert->set_policy("amount_drift");
    alert->set_metric(monitoring::v1::ALERT_METRIC_FEATURE_DRIFT);
    alert->set_feature("amount");
    alert->set_severity(monitoring::v1::SEVERITY_CRITICAL);
    alert->set_state(monitoring::v1::ALERT_STATE_FIRING);
    alert->set_fired_at_micros(1'700'000'000'000'000);
    alert->set_summary("amount drifted");
    return grpc::Status::OK;
  }
  grpc::Status GetDriftReport(grpc::ServerContext*, const monitoring::v1::GetDriftReportRequest*,
                              monitoring::v1::DriftReport* response) override {
    response->set_drift_share(0.4);
    response->set_dataset_drift(true);
    return grpc::Status::OK;
  }
};

class CardResolverTest : public ::testing::Test {
 public:
  static v1::ModelCard Card();

 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&ingestion_);
    builder.RegisterService(&training_);
    builder.RegisterService(&monitoring_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  std::unique_ptr<PeerChannels> Peers(bool monitoring_alive) {
    ServerConfig config;
    const std::string address = "127.0.0.1:" + std::to_string(port_);
    config.peers.addresses[static_cast<int>(PeerService::kIngestion)] = address;
    config.peers.addresses[static_cast<int>(PeerService::kTraining)] = address;
    // A port nothing listens on (1 is privileged and unused on test machines).
    config.peers.addresses[static_cast<int>(PeerService::kMonitoring)] =
        monitoring_alive ? address : "127.0.0.1:1";
    auto peers = PeerChannels::Create(config);
    EXPECT_THAT(peers.status(), IsOk());
    return peers.ok() ? *std::move(peers) : nullptr;
  }

  FakeIngestion ingestion_;
  FakeTraining training_;
  FakeMonitoring monitoring_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

v1::ModelCard CardResolverTest::Card() {
  v1::ModelCard card;
  card.mutable_version()->set_model("fraud");
  card.mutable_version()->set_version(3);
  auto add = [&](cv1::ResourceKind kind, const std::string& id) {
    auto* r = card.add_lineage();
    r->mutable_ref()->set_kind(kind);
    r->mutable_ref()->set_id(id);
  };
  add(cv1::RESOURCE_KIND_DATASET_VERSION, kKnownVersion);
  add(cv1::RESOURCE_KIND_DATASET_VERSION, std::string(64, 'b'));
  add(cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION, "spend@2");
  add(cv1::RESOURCE_KIND_RUN, "run-0123456789abcdef");
  return card;
}

TEST_F(CardResolverTest, ResolvesWhatThePeersKnowAndSaysWhyNotForTheRest) {
  auto peers = Peers(/*monitoring_alive=*/true);
  ASSERT_NE(peers, nullptr);
  PeerCardResolver resolver(peers.get());
  v1::ModelCard card = Card();
  resolver.Resolve(&card);

  const auto& dataset = card.lineage(0);
  EXPECT_TRUE(dataset.available());
  EXPECT_THAT(dataset.details_json(), HasSubstr("\"row_count\":\"42\""));
  EXPECT_THAT(dataset.details_json(), HasSubstr("\"passed\":true"));  // report asked for
  EXPECT_FALSE(card.lineage(1).available());
  EXPECT_THAT(card.lineage(1).unavailable_reason(), HasSubstr("ingestion: dataset version not found"));
  EXPECT_FALSE(card.lineage(2).available());
  EXPECT_THAT(card.lineage(2).unavailable_reason(), HasSubstr("--features_addr"));
  EXPECT_TRUE(card.lineage(3).available());
  EXPECT_THAT(card.lineage(3).details_json(), HasSubstr("run-0123456789abcdef"));

  const v1::MonitoringStatus& monitoring = card.monitoring();
  ASSERT_TRUE(monitoring.available());
  ASSERT_EQ(monitoring.alerts_size(), 1);
  EXPECT_EQ(monitoring.alerts(0).metric(), "ALERT_METRIC_FEATURE_DRIFT:amount");
  EXPECT_EQ(monitoring.alerts(0).state(), "firing");
  EXPECT_DOUBLE_EQ(monitoring.latest_drift_share(), 0.4);
  EXPECT_TRUE(monitoring.latest_dataset_drift());
}

TEST_F(CardResolverTest, ADeadMonitoringServiceLeavesTheCardUsable) {
  auto peers = Peers(/*monitoring_alive=*/false);
  ASSERT_NE(peers, nullptr);
  PeerCardResolver resolver(peers.get(), std::chrono::milliseconds(500));
  v1::ModelCard card = Card();
  resolver.Resolve(&card);
  EXPECT_TRUE(card.lineage(0).available());
  EXPECT_FALSE(card.monitoring().available());
  EXPECT_THAT(card.monitoring().unavailable_reason(), HasSubstr("monitoring: "));
}

TEST(CardResolverNoPeersTest, EverythingUnavailableWithTheReason) {
  PeerCardResolver resolver(nullptr);
  v1::ModelCard card = CardResolverTest::Card();
  resolver.Resolve(&card);
  for (const auto& r : card.lineage()) {
    EXPECT_FALSE(r.available());
    EXPECT_THAT(r.unavailable_reason(), HasSubstr("no peers configured"));
  }
  EXPECT_FALSE(card.monitoring().available());
}

}  // namespace
}  // namespace mlops::registry
