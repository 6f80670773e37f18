// The loop's forward path across the six real binaries over real gRPC and
// Postgres: generated card transactions are validated and versioned (a bad
// batch is rejected and leaves no trace), a feature view with windowed
// aggregates is registered, a training job with a small search builds its
// training set through the feature service and registers the best model with
// lineage, the registry promotes it, the feature service materializes, and the
// gateway serves predictions by customer id with features fetched online.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/demo/loop_steps.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/local_platform.h"

namespace mlops::testing_platform {
namespace {

using ::testing::HasSubstr;
namespace demo = ::mlops::demo;

std::vector<ServiceBinary> AllBinaries() {
  return {
#define MLOPS_BINARY(name, macro) {name, macro},
      MLOPS_SERVICE_BINARIES
#undef MLOPS_BINARY
  };
}

constexpr int64_t kDay = int64_t{86400} * 1000000;

TEST(PipelineTest, DataToFeaturesToModelToPredictions) {
  const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
  if (dsn == nullptr) GTEST_SKIP() << "MLOPS_TEST_PG_DSN not set";
  MLOPS_ASSERT_OK_AND_ASSIGN(auto platform, LocalPlatform::Create(dsn));
  ASSERT_THAT(platform->Start(AllBinaries()), IsOk());
  demo::PlatformAddresses addresses{
      platform->service("ingestion").address(), platform->service("features").address(),
      platform->service("training").address(),  platform->service("registry").address(),
      platform->service("gateway").address(),   platform->service("monitoring").address()};
  demo::PlatformClient client(addresses, platform->admin_token());

  // Data: history is versioned; a bad batch is rejected and leaves no trace.
  ASSERT_THAT(demo::CreateTransactionsDataset(client), IsOk());
  demo::TransactionGenerator generator(200, 42);
  const int64_t now = absl::ToUnixMicros(absl::Now());
  MLOPS_ASSERT_OK_AND_ASSIGN(
      auto history, demo::IngestTransactions(client, generator.Generate(now - 30 * kDay, now, 20000),
                                             "pipeline_test:history"));
  ASSERT_EQ(history.outcome(), ingestion::v1::INGEST_OUTCOME_COMMITTED);
  std::vector<demo::Transaction> bad = generator.Generate(now - 1000, now, 10);
  bad[3].amount = -5;
  bad[7].mcc = 1234;
  MLOPS_ASSERT_OK_AND_ASSIGN(auto rejected, demo::IngestTransactions(client, bad, "pipeline_test:bad"));
  EXPECT_EQ(rejected.outcome(), ingestion::v1::INGEST_OUTCOME_REJECTED);
  EXPECT_EQ(rejected.report().error_count(), 2);

  // Features, then a model trained through them.
  MLOPS_ASSERT_OK_AND_ASSIGN(auto view, demo::RegisterCardActivityView(client));
  EXPECT_EQ(view.version(), 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto job, demo::RunTrainingJob(client, demo::FraudJobSpec(3),
                                                            absl::Seconds(300)));
  EXPECT_EQ(job.trial_counts().succeeded(), 3) << job.DebugString();
  ASSERT_EQ(job.best_test_metrics().count("test_auc"), 1u) << job.DebugString();
  EXPECT_GT(job.best_test_metrics().at("test_auc"), 0.6) << job.DebugString();
  const int64_t version = job.registration().version();
  ASSERT_GE(version, 1) << job.DebugString();

  registry::v1::GetModelVersionRequest get;
  get.set_model(demo::kModel);
  get.set_version(version);
  registry::v1::ModelVersion registered;
  {
    auto context = client.Context();
    ASSERT_TRUE(client.registry().GetModelVersion(context.get(), get, &registered).ok());
  }
  EXPECT_EQ(registered.lineage().run_id(), job.best_run_id());
  EXPECT_EQ(registered.lineage().training_dataset_version(), history.version().id());
  ASSERT_EQ(registered.lineage().feature_views_size(), 1);
  EXPECT_EQ(registered.lineage().feature_views(0).name(), demo::kView);
  EXPECT_EQ(registered.signature().inputs_size(), 8);

  // Serving: promote, materialize, predict by customer id.
  ASSERT_THAT(demo::CreateEndpoint(client, /*canary=*/false, absl::Seconds(5)), IsOk());
  ASSERT_THAT(demo::Promote(client, version).status(), IsOk());
  ASSERT_THAT(demo::MaterializeCardActivity(client), IsOk());
  std::vector<std::string> customers;
  for (int i = 0; i < 20; ++i) customers.push_back(absl::StrFormat("c%04d", i * 7));
  absl::StatusOr<inference::v1::PredictResponse> predicted;
  // The gateway learns of the promotion through WatchDeployments: retry briefly.
  for (int attempt = 0; attempt < 50; ++attempt) {
    predicted = demo::PredictForCustomers(client, customers, absl::StrCat("req", attempt));
    if (predicted.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_THAT(predicted.status(), IsOk());
  ASSERT_EQ(predicted->predictions_size(), 20);
  for (const auto& p : predicted->predictions()) {
    EXPECT_EQ(p.model(), demo::kModel);
    EXPECT_EQ(p.version(), version);
    EXPECT_TRUE(p.entity_found());
    EXPECT_GE(p.score(), 0.0);
    EXPECT_LE(p.score(), 1.0);
  }

  // The card resolves its lineage through the peers.
  registry::v1::ExportModelCardRequest card_request;
  card_request.set_model(demo::kModel);
  registry::v1::ExportModelCardResponse card;
  {
    auto context = client.Context();
    ASSERT_TRUE(client.registry().ExportModelCard(context.get(), card_request, &card).ok());
  }
  int resolved = 0;
  for (const auto& r : card.card().lineage()) resolved += r.available() ? 1 : 0;
  EXPECT_GE(resolved, 2) << card.markdown();
  EXPECT_THAT(card.markdown(), HasSubstr("resolved"));

  // The same platform through mlopsctl.
  auto cli = [&](std::vector<std::string> command) {
    std::vector<std::string> args;
    for (const char* service : {"ingestion", "features", "training", "registry", "gateway", "monitoring"}) {
      args.push_back(absl::StrCat("--", service, "_addr=", platform->service(service).address()));
    }
    args.push_back("--token=" + platform->admin_token());
    args.insert(args.end(), command.begin(), command.end());
    return RunCli(MLOPS_CLI_PATH, args);
  };
  CliResult online = cli({"features", "online", "card_activity:last_amount", "--entity=c0000,nobody"});
  EXPECT_EQ(online.exit_code, 0) << online.output;
  EXPECT_THAT(online.output, HasSubstr("(entity_unknown)"));
  CliResult jobs = cli({"training", "jobs"});
  EXPECT_EQ(jobs.exit_code, 0) << jobs.output;
  EXPECT_THAT(jobs.output, HasSubstr(absl::StrCat("fraud@", version)));
  CliResult endpoints = cli({"endpoints", "status"});
  EXPECT_EQ(endpoints.exit_code, 0) << endpoints.output;
  EXPECT_THAT(endpoints.output, HasSubstr("fraud_api"));
  CliResult predict = cli({"predict", "fraud_api", "--entity=c0000,c0007"});
  EXPECT_EQ(predict.exit_code, 0) << predict.output;
  EXPECT_THAT(predict.output, HasSubstr(absl::StrCat("fraud@", version)));
  CliResult unknown = cli({"predict", "no_such_endpoint", "--entity=c0000"});
  EXPECT_EQ(unknown.exit_code, 5) << unknown.output;  // INVALID_ARGUMENT, as inference.proto says

  for (const auto& [name, code] : platform->StopAll()) {
    EXPECT_EQ(code, 0) << name << ":\n" << platform->service(name).process->ReadLog(4096);
  }
}

}  // namespace
}  // namespace mlops::testing_platform
