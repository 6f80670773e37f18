#pragma once
// The fixture of the registry service pgtests: a real Postgres store, the
// Registry and RegistryServiceImpl behind an in-process gRPC server, tokens
// for every role, and helpers to register versions and request transitions.
#include <memory>
#include <string>
#include <vector>

#include "common/auth/authorizer.h"
#include "common/auth/token_store.h"
#include "common/db/migrations.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/audit_chain.h"
#include "services/registry/file_artifact_store.h"
#include "services/registry/pg_artifact_store.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"
#include "services/registry/registry_service.h"

namespace mlops::registry {

namespace pb = ::mlops::registry::v1;

inline constexpr char kData[] = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";

inline TokenTable Tokens() {
  TokenTable t;
  auto add = [&](const std::string& token, const std::string& name, Role role) {
    TokenEntry e;
    e.principal = {name, role};
    t[Sha256Hex(token)] = e;
  };
  add("t-viewer", "vic", Role::kViewer);
  add("t-editor", "alice", Role::kEditor);
  add("t-deployer", "dana", Role::kDeployer);
  add("t-deployer2", "erin", Role::kDeployer);
  return t;
}

class RegistryServicePgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "registry";
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "registry", EmbeddedMigrations()).status(), IsOk());
    store_ = std::make_unique<PgRegistryStore>(pool_.get());
    if (file_store_root_.empty()) {
      artifacts_ = std::make_unique<PgArtifactStore>(pool_.get());
    } else {
      MLOPS_ASSERT_OK_AND_ASSIGN(artifacts_, FileArtifactStore::Create(file_store_root_));
    }
    RegistryOptions options;
    options.notifier = &notifier_;
    options.model_tester = model_tester_;
    options.artifact_import_dirs = import_dirs_;
    registry_ = std::make_unique<Registry>(store_.get(), artifacts_.get(), nullptr, options);
    feed_ = std::make_unique<DeploymentFeed>(store_.get());
    tokens_ = std::make_unique<TokenStore>(Tokens());
    authorizer_ = std::make_unique<Authorizer>(tokens_.get());
    // A long poll interval: changes made here must arrive through the notifier.
    service_ = std::make_unique<RegistryServiceImpl>(registry_.get(), authorizer_.get(),
                                                     feed_.get(), &notifier_, absl::Seconds(3));
    MLOPS_ASSERT_OK_AND_ASSIGN(server_, GrpcTestServer::Start({service_.get()}));
    stub_ = pb::RegistryService::NewStub(server_->InProcessChannel());
  }
  void TearDown() override {
    notifier_.Shutdown();
    stub_.reset();
    server_.reset();
    service_.reset();
    registry_.reset();
    artifacts_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  pb::RegisterModelVersionHeader Header(const std::string& bytes, double auc) {
    pb::RegisterModelVersionHeader h;
    h.set_model("churn");
    h.set_create_model_if_missing(true);
    h.mutable_expected_artifact()->set_sha256(Sha256Hex(bytes));
    h.mutable_expected_artifact()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    auto* in = h.mutable_signature()->add_inputs();
    in->set_name("tenure");
    in->set_type(mlops::common::v1::DATA_TYPE_DOUBLE);
    auto* e = h.add_evaluations();
    e->set_name("test");
    e->set_dataset_version(kData);
    (*e->mutable_metrics())["auc"] = auc;
    h.mutable_docs()->set_intended_use("churn scoring");
    return h;
  }

  grpc::Status Register(const pb::RegisterModelVersionHeader& h, const std::string& bytes,
                        pb::ModelVersion* out, const std::string& token = "t-editor") {
    auto ctx = As(token);
    auto writer = stub_->RegisterModelVersion(ctx.get(), out);
    pb::RegisterModelVersionRequest msg;
    *msg.mutable_header() = h;
    writer->Write(msg);
    for (size_t pos = 0; pos < bytes.size(); pos += 3) {
      msg.Clear();
      msg.set_artifact_chunk(bytes.substr(pos, 3));
      writer->Write(msg);
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status Transition(int64_t version, pb::Stage stage, pb::TransitionRequest* out,
                          const std::string& token = "t-deployer") {
    pb::RequestTransitionRequest req;
    req.mutable_version()->set_model("churn");
    req.mutable_version()->set_version(version);
    req.set_target_stage(stage);
    req.set_reason("test");
    return stub_->RequestTransition(As(token).get(), req, out);
  }

  const ModelTester* model_tester_ = nullptr;  // set before SetUp to run model tests
  // Set before SetUp: artifacts in a FileArtifactStore there (else Postgres).
  std::string file_store_root_;
  std::vector<std::string> import_dirs_;  // set before SetUp
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgRegistryStore> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
  ChangeNotifier notifier_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<DeploymentFeed> feed_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<RegistryServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<pb::RegistryService::Stub> stub_;
};

}  // namespace mlops::registry
