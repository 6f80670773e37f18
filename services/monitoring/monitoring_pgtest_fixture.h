#pragma once

// The fixture of the monitoring service's Postgres tests: the real
// MonitoringServiceImpl over PgMonitoringStore, served in process, with a
// fixed clock (kNow) and tokens for each role; helpers for a reference of
// fraud@1 and batches of predictions.

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/auth/token.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "mlops_migrations/monitoring_migrations.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/prediction_log_writer.h"
#include "services/monitoring/window_store.h"

namespace mlops::monitoring {

inline constexpr int64_t kNow = 1'800'000'000'000'000;  // fixed clock, on a minute boundary
inline constexpr int64_t kMinute = 60'000'000;

class CountingCounters : public PredictionCounters {
 public:
  void Accepted(const std::string&, int64_t n) override { accepted += n; }
  void Rejected(const std::string&, int64_t n) override { rejected += n; }
  int64_t accepted = 0;
  int64_t rejected = 0;
};

inline TokenTable Tokens() {
  TokenTable t;
  auto add = [&](const std::string& token, const std::string& name, Role role) {
    TokenEntry e;
    e.principal = {name, role};
    t[HashToken(token)] = e;
  };
  add("t-viewer", "vic", Role::kViewer);
  add("t-editor", "alice", Role::kEditor);
  add("t-deployer", "dana", Role::kDeployer);
  return t;
}

inline common::v1::Value Double(double x) {
  common::v1::Value v;
  v.set_double_value(x);
  return v;
}

class MonitoringServicePgTest : public PgTest {
 protected:
  // Lets a test add collaborators (gauges, actions) to the service.
  virtual void Configure(MonitoringServiceOptions& options) { (void)options; }

  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "monitoring";
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "monitoring", EmbeddedMigrations()).status(), IsOk());
    store_ = std::make_unique<PgMonitoringStore>(pool_.get());
    windows_ = std::make_unique<WindowStore>();
    writer_ = std::make_unique<PredictionLogWriter>(store_.get());
    tokens_ = std::make_unique<TokenStore>(Tokens());
    authorizer_ = std::make_unique<Authorizer>(tokens_.get());
    options_.now_micros = [this] { return now_.load(); };
    Configure(options_);
    StartService();
  }
  // The service over the store (and a fresh window store and writer).
  void StartService() {
    service_ = std::make_unique<MonitoringServiceImpl>(store_.get(), windows_.get(), writer_.get(),
                                                       authorizer_.get(), &counters_, options_);
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({service_.get()}));
    stub_ = v1::MonitoringService::NewStub(server_->InProcessChannel());
  }
  // A restart: what lived in memory is gone, Postgres stays.
  void RestartService() {
    stub_.reset();
    server_.reset();
    service_.reset();
    writer_ = std::make_unique<PredictionLogWriter>(store_.get());
    windows_ = std::make_unique<WindowStore>();
    StartService();
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
    service_.reset();
    writer_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }
  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  // Reference of fraud@1: "stable" and "shifted" ~ N(0, 1), 500 rows.
  grpc::Status SetRowsReference() {
    v1::SetReferenceRequest req;
    req.set_model("fraud");
    req.set_version(1);
    v1::InlineRows* rows = req.mutable_rows();
    for (const char* name : {"stable", "shifted"}) {
      common::v1::Column* c = rows->mutable_schema()->add_columns();
      c->set_name(name);
      c->set_type(common::v1::DATA_TYPE_DOUBLE);
    }
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal(0, 1);
    for (int i = 0; i < 500; ++i) {
      common::v1::Row* row = rows->add_rows();
      *row->add_values() = Double(normal(rng));
      *row->add_values() = Double(normal(rng));
    }
    v1::Reference resp;
    return stub_->SetReference(As("t-editor").get(), req, &resp);
  }

  // 400 predictions in the window before kNow, "shifted" moved by +1.5.
  v1::LogPredictionsRequest Predictions(int n) {
    v1::LogPredictionsRequest req;
    req.set_model("fraud");
    req.set_version(1);
    req.set_endpoint("fraud_ep");
    req.add_feature_names("stable");
    req.add_feature_names("shifted");
    std::mt19937_64 rng(12);
    std::normal_distribution<double> normal(0, 1);
    for (int i = 0; i < n; ++i) {
      v1::PredictionRecord* r = req.add_records();
      r->set_request_id("req-" + std::to_string(i));
      r->set_timestamp_micros(kNow - kMinute + i);
      *r->mutable_features()->add_values() = Double(normal(rng));
      *r->mutable_features()->add_values() = Double(normal(rng) + 1.5);
      r->mutable_prediction()->set_score(0.5);
      r->set_latency_micros(1000);
    }
    return req;
  }

  grpc::Status Log(const std::vector<v1::LogPredictionsRequest>& messages,
                   v1::LogPredictionsResponse* resp) {
    auto ctx = As("t-editor");
    auto writer = stub_->LogPredictions(ctx.get(), resp);
    for (const auto& m : messages) {
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::atomic<int64_t> now_{kNow};  // the service's clock
  MonitoringServiceOptions options_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgMonitoringStore> store_;
  std::unique_ptr<WindowStore> windows_;
  std::unique_ptr<PredictionLogWriter> writer_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authorizer_;
  CountingCounters counters_;
  std::unique_ptr<MonitoringServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<v1::MonitoringService::Stub> stub_;
};

}  // namespace mlops::monitoring
