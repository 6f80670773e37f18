// mlops-training: the training service binary (tracking RPCs; training jobs
// with the built-in XGBoost trainers when --ingestion_addr is set).
#include <cstdint>
#include <memory>

#include "absl/flags/flag.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/dataset_follower.h"
#include "services/training/job_manager.h"
#include "services/training/metrics.h"
#include "services/training/peer_clients.h"
#include "services/training/pg_job_store.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/tracking.h"
#include "services/training/training_service.h"
#include "services/training/trigger_manager.h"

ABSL_FLAG(int64_t, max_artifact_bytes, int64_t{1} << 30,
          "Largest artifact UploadArtifact accepts, in bytes (at most 1 GiB: uploads are "
          "buffered in memory).");
ABSL_FLAG(int32_t, max_concurrent_jobs, 2, "Training jobs run at once by this replica (1..64).");
ABSL_FLAG(int32_t, max_parallel_trials, 2, "Trials of one job run at once (1..64).");

namespace {

// Everything the service needs, kept alive by BuiltService::state.
struct TrainingState {
  std::unique_ptr<mlops::training::PgTrackingStore> store;
  std::unique_ptr<mlops::training::PgJobStore> jobs_store;
  std::unique_ptr<mlops::training::Tracking> tracking;
  std::unique_ptr<mlops::training::TrainingMetrics> metrics;
  std::unique_ptr<mlops::training::PeerTrainingData> data;          // null without ingestion
  std::unique_ptr<mlops::training::PeerModelRegistrar> registrar;   // null without registry
  std::unique_ptr<mlops::training::JobManager> jobs;                // null without ingestion
  std::unique_ptr<mlops::training::TriggerManager> triggers;        // null without ingestion
  std::unique_ptr<mlops::training::DatasetFollower> follower;       // null without ingestion
};

const mlops::PeerChannel* Peer(const mlops::ServiceContext& ctx, mlops::PeerService s) {
  if (ctx.peers == nullptr || !ctx.peers->has(s)) return nullptr;
  absl::StatusOr<const mlops::PeerChannel*> peer = ctx.peers->Get(s);
  return peer.ok() ? *peer : nullptr;
}

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
    mlops::training::JobManagerOptions job_options;
    job_options.max_concurrent_jobs = absl::GetFlag(FLAGS_max_concurrent_jobs);
    job_options.max_parallel_trials = absl::GetFlag(FLAGS_max_parallel_trials);
    if (job_options.max_concurrent_jobs < 1 || job_options.max_concurrent_jobs > 64 ||
        job_options.max_parallel_trials < 1 || job_options.max_parallel_trials > 64) {
      return absl::InvalidArgumentError("--max_concurrent_jobs, --max_parallel_trials: 1..64");
    }
    auto state = std::make_shared<TrainingState>();
    state->store = std::make_unique<mlops::training::PgTrackingStore>(ctx.pool);
    state->jobs_store = std::make_unique<mlops::training::PgJobStore>(ctx.pool);
    state->tracking = std::make_unique<mlops::training::Tracking>(state->store.get());
    state->metrics = std::make_unique<mlops::training::TrainingMetrics>(*ctx.registry);
    if (const mlops::PeerChannel* ingestion = Peer(ctx, mlops::PeerService::kIngestion)) {
      state->data = std::make_unique<mlops::training::PeerTrainingData>(
          ingestion, Peer(ctx, mlops::PeerService::kFeatures));
      if (const mlops::PeerChannel* registry = Peer(ctx, mlops::PeerService::kRegistry)) {
        state->registrar = std::make_unique<mlops::training::PeerModelRegistrar>(registry);
      }
      mlops::training::JobDeps deps{state->jobs_store.get(), state->tracking.get(), state->data.get(),
                                    state->registrar.get(), state->metrics.get()};
      state->jobs = std::make_unique<mlops::training::JobManager>(deps, job_options);
      mlops::training::JobManager* jobs = state->jobs.get();
      state->triggers = std::make_unique<mlops::training::TriggerManager>(
          state->jobs_store.get(), jobs, state->tracking.get());
      mlops::training::TriggerManager* triggers = state->triggers.get();
      state->follower = std::make_unique<mlops::training::DatasetFollower>(ingestion, triggers);
      mlops::training::DatasetFollower* follower = state->follower.get();
      ctx.on_ready->push_back([jobs, triggers, follower] {
        absl::Status s = jobs->Start();
        if (!s.ok()) mlops::LogError("training_jobs_start_failed", {{"status", s.ToString()}});
        triggers->StartScheduler();
        follower->Start();
      });
      ctx.on_drain->push_back([jobs, triggers, follower] {
        follower->Stop();
        triggers->StopScheduler();
        jobs->Stop();
      });
      options.jobs = jobs;
      options.triggers = triggers;
    } else {
      mlops::LogWarn("training_jobs_disabled", {{"reason", "--ingestion_addr not set"}});
    }
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::training::TrainingServiceImpl>(
        state->tracking.get(), ctx.authorizer, state->metrics.get(), options));
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
