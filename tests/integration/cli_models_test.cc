// mlopsctl's model and endpoint commands against the real registry binary:
// a gate policy from a JSON file, promotions the gate denies (exit 5, the
// failed check named) and grants, endpoints with a rollout spec, the version
// table and the model card.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/local_platform.h"

namespace mlops::testing_platform {
namespace {

using ::testing::HasSubstr;
namespace rv1 = ::mlops::registry::v1;

class CliModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
    if (dsn == nullptr) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
    MLOPS_ASSERT_OK_AND_ASSIGN(platform_, LocalPlatform::Create(dsn));
    ASSERT_THAT(platform_->Start({{"registry", MLOPS_REGISTRY_PATH}}), IsOk());
    stub_ = rv1::RegistryService::NewStub(grpc::CreateChannel(
        platform_->service("registry").address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (platform_ == nullptr) return;
    for (const auto& [name, code] : platform_->StopAll()) EXPECT_EQ(code, 0) << name;
  }

  // Registers a version of "fraud" with a test AUC, over gRPC.
  void Register(const std::string& artifact, double auc) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + platform_->admin_token());
    rv1::ModelVersion out;
    auto writer = stub_->RegisterModelVersion(&context, &out);
    rv1::RegisterModelVersionRequest header;
    rv1::RegisterModelVersionHeader* h = header.mutable_header();
    h->set_model("fraud");
    h->set_create_model_if_missing(true);
    h->mutable_expected_artifact()->set_sha256(HashToken(artifact)  /* sha256 hex */);
    h->mutable_expected_artifact()->set_size_bytes(static_cast<int64_t>(artifact.size()));
    auto* input = h->mutable_signature()->add_inputs();
    input->set_name("amount");
    input->set_type(common::v1::DATA_TYPE_DOUBLE);
    auto* evaluation = h->add_evaluations();
    evaluation->set_name("test");
    evaluation->set_dataset_version(std::string(64, 'a'));
    (*evaluation->mutable_metrics())["auc"] = auc;
    ASSERT_TRUE(writer->Write(header));
    rv1::RegisterModelVersionRequest chunk;
    chunk.set_artifact_chunk(artifact);
    ASSERT_TRUE(writer->Write(chunk));
    writer->WritesDone();
    const grpc::Status status = writer->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = absl::StrCat(platform_->dir(), "/", name);
    std::ofstream(path) << content;
    return path;
  }

  CliResult Cli(std::vector<std::string> command, bool json = false) {
    std::vector<std::string> args = {"--registry_addr=" + platform_->service("registry").address(),
                                     "--token=" + platform_->admin_token()};
    if (json) args.push_back("--json");
    args.insert(args.end(), command.begin(), command.end());
    return RunCli(MLOPS_CLI_PATH, args);
  }

  std::unique_ptr<LocalPlatform> platform_;
  std::unique_ptr<rv1::RegistryService::Stub> stub_;
};

TEST_F(CliModelsTest, GatePromotionsEndpointsAndCard) {
  Register("model one", 0.80);
  Register("model two", 0.95);
  const std::string policy = WriteFile("policy.json", R"({"production": {"thresholds": [
      {"metric": "auc", "comparison": "COMPARISON_GREATER_OR_EQUAL", "value": 0.9}]}})");
  CliResult set = Cli({"models", "policy", "set", "fraud", "--file=" + policy});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_THAT(set.output, HasSubstr("is now version 1"));
  CliResult bad_policy = Cli({"models", "policy", "set", "fraud", "--file=" + WriteFile("bad.json", "{")});
  EXPECT_EQ(bad_policy.exit_code, 2) << bad_policy.output;

  CliResult denied = Cli({"models", "promote", "fraud@1", "--to=production"});
  EXPECT_EQ(denied.exit_code, 5) << denied.output;
  EXPECT_THAT(denied.output, HasSubstr("auc"));
  EXPECT_THAT(denied.output, HasSubstr("0.8"));
  CliResult granted = Cli({"models", "promote", "fraud@2", "--to=production", "--reason=better"});
  ASSERT_EQ(granted.exit_code, 0) << granted.output;
  EXPECT_THAT(granted.output, HasSubstr("fraud@2 is now production"));
  CliResult usage = Cli({"models", "promote", "fraud", "--to=production"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;

  const std::string rollout = WriteFile("canary.json", R"({"strategy": "ROLLOUT_STRATEGY_CANARY",
      "canary": {"steps": [{"percent": 10, "analysisWindowMicros": "10000000"},
                           {"percent": 100, "analysisWindowMicros": "10000000"}]}})");
  CliResult endpoint = Cli({"endpoints", "set", "fraud_api", "--model=fraud", "--rollout=" + rollout});
  ASSERT_EQ(endpoint.exit_code, 0) << endpoint.output;
  EXPECT_THAT(endpoint.output, HasSubstr("ROLLOUT_STRATEGY_CANARY"));
  CliResult endpoints = Cli({"endpoints", "list"});
  ASSERT_EQ(endpoints.exit_code, 0) << endpoints.output;
  EXPECT_THAT(endpoints.output, HasSubstr("fraud_api"));

  CliResult show = Cli({"models", "show", "fraud"});
  ASSERT_EQ(show.exit_code, 0) << show.output;
  EXPECT_THAT(show.output, HasSubstr("production"));
  EXPECT_THAT(show.output, HasSubstr("auc=0.95"));
  CliResult card = Cli({"models", "card", "fraud"});
  ASSERT_EQ(card.exit_code, 0) << card.output;
  EXPECT_THAT(card.output, HasSubstr("# Model card: fraud version 2"));
  CliResult missing = Cli({"models", "card", "fraud@9"});
  EXPECT_EQ(missing.exit_code, 4) << missing.output;
}

}  // namespace
}  // namespace mlops::testing_platform
