// mlops-ingestion: the ingestion service binary. See services/ingestion/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"
#include "services/ingestion/pg_source_store.h"
#include "services/ingestion/source_catalog.h"
#include "services/ingestion/source_puller.h"
#include "services/ingestion/source_scheduler.h"

namespace {

// Everything the ingestion service needs, kept alive until exit.
struct IngestionState {
  std::unique_ptr<mlops::ingestion::PgIngestionStore> store;
  std::unique_ptr<mlops::ingestion::IngestionMetrics> metrics;
  std::unique_ptr<mlops::ingestion::Ingestion> ingestion;
  std::unique_ptr<mlops::ingestion::PgSourceStore> source_store;
  std::unique_ptr<mlops::ingestion::SourceCatalog> sources;
  std::unique_ptr<mlops::ingestion::SourcePuller> puller;
  // Last: destroyed (stopped) first.
  std::unique_ptr<mlops::ingestion::SourceScheduler> scheduler;
};

}  // namespace

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"ingestion", 50051, 9101, true};
  spec.usage = "mlops-ingestion: the ingestion service of the MLOps platform";
  spec.migrations = &mlops::ingestion::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("ingestion needs Postgres");
    auto state = std::make_shared<IngestionState>();
    state->store = std::make_unique<mlops::ingestion::PgIngestionStore>(ctx.pool);
    state->metrics = std::make_unique<mlops::ingestion::IngestionMetrics>(ctx.registry);
    state->ingestion = std::make_unique<mlops::ingestion::Ingestion>(state->store.get(),
                                                                     state->metrics.get());
    state->source_store = std::make_unique<mlops::ingestion::PgSourceStore>(ctx.pool);
    state->sources = std::make_unique<mlops::ingestion::SourceCatalog>(state->store.get(),
                                                                       state->source_store.get());
    state->puller = std::make_unique<mlops::ingestion::SourcePuller>(
        state->ingestion.get(), state->source_store.get(), state->metrics.get());
    state->scheduler = std::make_unique<mlops::ingestion::SourceScheduler>(state->puller.get());
    // The scheduler starts once the schema is migrated.
    mlops::ingestion::SourceScheduler* scheduler = state->scheduler.get();
    if (ctx.on_ready != nullptr) {
      ctx.on_ready->push_back([scheduler] { scheduler->Start(); });
    } else {
      scheduler->Start();
    }
    auto service = std::make_shared<mlops::ingestion::IngestionServiceImpl>(
        state->ingestion.get(), ctx.authorizer, state->sources.get(), state->puller.get());
    if (ctx.on_drain != nullptr) {
      ctx.on_drain->push_back([service] { service->Drain(); });
      ctx.on_drain->push_back([scheduler] { scheduler->Stop(); });
    }
    mlops::BuiltService built;
    built.services.push_back(service);
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
