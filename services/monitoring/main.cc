// mlops-monitoring: the monitoring service binary. See services/monitoring/.
#include <memory>

#include "common/server/service_main.h"
#include "mlops_migrations/monitoring_migrations.h"
#include "services/monitoring/ingestion_profile_source.h"
#include "services/monitoring/metrics.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/prediction_log_writer.h"
#include "services/monitoring/window_store.h"

namespace {

// Everything the monitoring service needs, kept alive until exit.
struct MonitoringState {
  std::unique_ptr<mlops::monitoring::PgMonitoringStore> store;
  std::unique_ptr<mlops::monitoring::MonitoringMetrics> metrics;
  std::unique_ptr<mlops::monitoring::WindowStore> windows;
  std::unique_ptr<mlops::monitoring::PredictionLogWriter> writer;
  std::unique_ptr<mlops::monitoring::IngestionProfileSource> profiles;  // null without the peer
};

}  // namespace

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"monitoring", 50056, 9106, true};
  spec.usage = "mlops-monitoring: the monitoring service of the MLOps platform";
  spec.migrations = &mlops::monitoring::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("monitoring needs Postgres");
    auto state = std::make_shared<MonitoringState>();
    state->store = std::make_unique<mlops::monitoring::PgMonitoringStore>(ctx.pool);
    state->metrics = std::make_unique<mlops::monitoring::MonitoringMetrics>(ctx.registry);
    state->windows = std::make_unique<mlops::monitoring::WindowStore>();
    state->writer = std::make_unique<mlops::monitoring::PredictionLogWriter>(state->store.get());
    mlops::monitoring::PredictionLogWriter* writer = state->writer.get();
    ctx.on_ready->push_back([writer] { writer->Start(); });
    ctx.on_drain->push_back([writer] { writer->Stop(); });
    mlops::monitoring::MonitoringServiceOptions options;
    if (ctx.peers != nullptr && ctx.peers->has(mlops::PeerService::kIngestion)) {
      absl::StatusOr<const mlops::PeerChannel*> peer =
          ctx.peers->Get(mlops::PeerService::kIngestion);
      if (!peer.ok()) return peer.status();
      state->profiles = std::make_unique<mlops::monitoring::IngestionProfileSource>(*peer);
      options.profiles = state->profiles.get();
    }
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::monitoring::MonitoringServiceImpl>(
        state->store.get(), state->windows.get(), state->writer.get(), ctx.authorizer,
        state->metrics.get(), options));
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
