// mlops-training: the training service binary (tracking RPCs; jobs, search
// and triggers are not implemented yet and answer UNIMPLEMENTED).
#include <cstdint>
#include <memory>

#include "absl/flags/flag.h"
#include "common/server/service_main.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/metrics.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/tracking.h"
#include "services/training/training_service.h"

ABSL_FLAG(int64_t, max_artifact_bytes, int64_t{1} << 30,
          "Largest artifact UploadArtifact accepts, in bytes (at most 1 GiB: uploads are "
          "buffered in memory).");

namespace {

// Everything the service needs, kept alive by BuiltService::state.
struct TrainingState {
  std::unique_ptr<mlops::training::PgTrackingStore> store;
  std::unique_ptr<mlops::training::Tracking> tracking;
  std::unique_ptr<mlops::training::TrainingMetrics> metrics;
};

}  // namespace

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"training", 50053, 9103, true};
  spec.usage = "mlops-training: the training service of the MLOps platform";
  spec.migrations = &mlops::training::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("training needs a database");
    mlops::training::TrainingServiceOptions options;
    options.max_artifact_bytes = absl::GetFlag(FLAGS_max_artifact_bytes);
    if (options.max_artifact_bytes <= 0 || options.max_artifact_bytes > (int64_t{1} << 30)) {
      return absl::InvalidArgumentError("--max_artifact_bytes: must be in (0, 1 GiB]");
    }
    auto state = std::make_shared<TrainingState>();
    state->store = std::make_unique<mlops::training::PgTrackingStore>(ctx.pool);
    state->tracking = std::make_unique<mlops::training::Tracking>(state->store.get());
    state->metrics = std::make_unique<mlops::training::TrainingMetrics>(*ctx.registry);
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::training::TrainingServiceImpl>(
        state->tracking.get(), ctx.authorizer, state->metrics.get(), options));
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
