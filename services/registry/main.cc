// mlops-registry: the registry service binary. See services/registry/ for its parts.
#include <memory>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/artifact_store_flag.h"
#include "services/registry/change_notifier.h"
#include "services/registry/deployment_feed.h"
#include "services/registry/file_artifact_store.h"
#include "services/registry/metrics.h"
#include "services/registry/pg_artifact_store.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"
#include "services/registry/registry_service.h"
#include "services/registry/xgb_model_tester.h"

ABSL_FLAG(std::string, artifact_store, "postgres",
          "Where artifact bytes are stored: postgres (the registry schema's artifacts table) or "
          "file:/absolute/dir (content-addressed files; share it between replicas).");
ABSL_FLAG(std::string, artifact_import_dirs, "",
          "Comma-separated absolute directories that RegisterModelVersion's file:// artifact "
          "references may read from (empty: file references are refused).");

namespace {

// Everything the registry's service needs, kept alive until exit.
struct RegistryState {
  std::unique_ptr<mlops::registry::PgRegistryStore> store;
  std::unique_ptr<mlops::registry::ArtifactStore> artifacts;
  std::unique_ptr<mlops::registry::RegistryMetrics> metrics;
  std::unique_ptr<mlops::registry::Registry> registry;
  mlops::registry::ChangeNotifier notifier;
  mlops::registry::XgbModelTester model_tester;
  std::unique_ptr<mlops::registry::PeerCardResolver> card_resolver;
  std::unique_ptr<mlops::registry::DeploymentFeed> feed;
};

}  // namespace

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"registry", 50054, 9104, true};
  spec.usage = "mlops-registry: the registry service of the MLOps platform";
  spec.migrations = &mlops::registry::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("the registry needs Postgres");
    auto state = std::make_shared<RegistryState>();
    state->store = std::make_unique<mlops::registry::PgRegistryStore>(ctx.pool);
    absl::StatusOr<mlops::registry::ArtifactStoreSpec> spec_a =
        mlops::registry::ParseArtifactStoreFlag(absl::GetFlag(FLAGS_artifact_store));
    if (!spec_a.ok()) return spec_a.status();
    if (spec_a->file) {
      auto files = mlops::registry::FileArtifactStore::Create(spec_a->root);
      if (!files.ok()) return files.status();
      state->artifacts = *std::move(files);
    } else {
      state->artifacts = std::make_unique<mlops::registry::PgArtifactStore>(ctx.pool);
    }
    mlops::LogInfo("registry_artifact_store", {{"store", state->artifacts->Describe()}});
    state->metrics = std::make_unique<mlops::registry::RegistryMetrics>(ctx.registry);
    mlops::registry::RegistryOptions options;
    options.notifier = &state->notifier;
    options.model_tester = &state->model_tester;
    absl::StatusOr<std::vector<std::string>> import_dirs =
        mlops::registry::ParseImportDirsFlag(absl::GetFlag(FLAGS_artifact_import_dirs));
    if (!import_dirs.ok()) return import_dirs.status();
    options.artifact_import_dirs = *std::move(import_dirs);
    state->registry = std::make_unique<mlops::registry::Registry>(
        state->store.get(), state->artifacts.get(), state->metrics.get(), options);
    state->feed = std::make_unique<mlops::registry::DeploymentFeed>(state->store.get());
    // Drain ends every WatchDeployments stream (UNAVAILABLE: reconnect elsewhere).
    RegistryState* raw = state.get();
    ctx.on_drain->push_back([raw] { raw->notifier.Shutdown(); });
    mlops::BuiltService built;
    state->card_resolver = std::make_unique<mlops::registry::PeerCardResolver>(ctx.peers);
    auto service = std::make_shared<mlops::registry::RegistryServiceImpl>(
        state->registry.get(), ctx.authorizer, state->feed.get(), &state->notifier);
    service->set_card_resolver(state->card_resolver.get());
    built.services.push_back(service);
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
