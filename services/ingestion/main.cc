// mlops-ingestion: the ingestion service binary. See services/ingestion/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace {

// Everything the ingestion service needs, kept alive until exit.
struct IngestionState {
  std::unique_ptr<mlops::ingestion::PgIngestionStore> store;
  std::unique_ptr<mlops::ingestion::IngestionMetrics> metrics;
  std::unique_ptr<mlops::ingestion::Ingestion> ingestion;
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
    auto service = std::make_shared<mlops::ingestion::IngestionServiceImpl>(
        state->ingestion.get(), ctx.authorizer);
    if (ctx.on_drain != nullptr) ctx.on_drain->push_back([service] { service->Drain(); });
    mlops::BuiltService built;
    built.services.push_back(service);
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
