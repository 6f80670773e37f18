// mlops-features: the feature service binary. See services/features/.
#include <chrono>
#include <memory>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/features_migrations.h"
#include "services/features/features_stack.h"

ABSL_FLAG(int32_t, max_online_entities, 1000,
          "GetOnlineFeatures: most entity rows per call (more: INVALID_ARGUMENT)");
ABSL_FLAG(int32_t, watch_interval_seconds, 5,
          "How often AUTO views poll ingestion for new dataset versions");
ABSL_FLAG(int64_t, event_cache_mb, 2048,
          "Memory budget of the event tables kept for retrieval and materialization");
ABSL_FLAG(int64_t, source_cache_mb, 1024,
          "Memory budget of the source columns kept while several views read one dataset "
          "version (each column is then read from ingestion once)");

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"features", 50052, 9102, true};
  spec.usage = "mlops-features: the feature service of the MLOps platform";
  spec.migrations = &mlops::features::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("features needs Postgres");
    if (ctx.peers == nullptr) return absl::FailedPreconditionError("features needs peers");
    absl::StatusOr<const mlops::PeerChannel*> peer = ctx.peers->Get(mlops::PeerService::kIngestion);
    if (!peer.ok()) return peer.status();
    const mlops::PeerChannel* ingestion = *peer;
    mlops::features::FeaturesStackOptions options;
    options.max_online_entities = absl::GetFlag(FLAGS_max_online_entities);
    options.rpc_metrics = ctx.rpc_metrics;
    options.watch_interval = absl::Seconds(absl::GetFlag(FLAGS_watch_interval_seconds));
    options.event_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_event_cache_mb)) << 20;
    if (absl::GetFlag(FLAGS_source_cache_mb) < 0) {
      return absl::InvalidArgumentError("--source_cache_mb must not be negative");
    }
    options.source_cache_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_source_cache_mb)) << 20;
    if (options.max_online_entities < 1 || options.watch_interval <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "--max_online_entities and --watch_interval_seconds must be positive");
    }
    absl::StatusOr<std::unique_ptr<mlops::features::FeaturesStack>> stack =
        mlops::features::FeaturesStack::Create(
            ctx.pool, ingestion->channel(),
            [ingestion](std::chrono::milliseconds deadline) {
              return ingestion->NewContext(deadline);
            },
            ctx.registry, ctx.authorizer, options);
    if (!stack.ok()) return stack.status();
    std::shared_ptr<mlops::features::FeaturesStack> state = std::move(*stack);
    mlops::features::FeaturesStack* raw = state.get();
    // After migrations: load the online store (a restarted replica serves at
    // once), then follow the datasets of AUTO views.
    ctx.on_ready->push_back([raw] {
      absl::Status s = raw->LoadOnlineStore();
      if (!s.ok()) mlops::LogWarn("features_online_load_failed", {{"status", s.ToString()}});
      raw->StartWatcher();
    });
    ctx.on_drain->push_back([raw] { raw->StopWatcher(); });
    mlops::BuiltService built;
    // The service object lives inside the stack; share ownership with it.
    built.services.push_back(std::shared_ptr<grpc::Service>(state, raw->service()));
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
