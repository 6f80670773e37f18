// mlops-registry: the registry service binary. See services/registry/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/metrics.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"
#include "services/registry/registry_service.h"

namespace {

// Everything the registry's service needs, kept alive until exit.
struct RegistryState {
  std::unique_ptr<mlops::registry::PgRegistryStore> store;
  std::unique_ptr<mlops::registry::RegistryMetrics> metrics;
  std::unique_ptr<mlops::registry::Registry> registry;
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
    state->metrics = std::make_unique<mlops::registry::RegistryMetrics>(ctx.registry);
    state->registry = std::make_unique<mlops::registry::Registry>(
        state->store.get(), state->metrics.get(), mlops::registry::RegistryOptions{});
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::registry::RegistryServiceImpl>(
        state->registry.get(), ctx.authorizer));
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
