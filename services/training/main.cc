// mlops-training: the training service binary (tracking RPCs; training jobs
// with the built-in XGBoost trainers and command trainers, run as local
// processes or Kubernetes Jobs, when --ingestion_addr is set).
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/training_migrations.h"
#include "services/training/dataset_follower.h"
#include "services/training/job_manager.h"
#include "services/training/k8s_executor.h"
#include "services/training/local_executor.h"
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
ABSL_FLAG(std::string, replica_id, "",
          "This replica's name in job leases; unique among live replicas (default: host-pid-random).");
ABSL_FLAG(int32_t, job_lease_seconds, 20,
          "A claimed job's lease (2..600 s), renewed every quarter; a replica that dies loses its jobs after this.");
ABSL_FLAG(std::string, command_executor, "local",
          "Where command trainers run: local (child processes), kubernetes (batch/v1 Jobs), or none.");
ABSL_FLAG(std::string, command_work_dir, "/tmp/mlops-training-runs",
          "Root of the per-run work dirs holding a command trainer's data files and model (with "
          "kubernetes: the mount path of --k8s_work_pvc, the same in this pod and the Job's pod).");
ABSL_FLAG(bool, command_keep_work_dirs, false, "Keep each run's work dir after the trial (debugging).");
ABSL_FLAG(int32_t, command_kill_grace_seconds, 10, "Local executor: SIGTERM -> SIGKILL grace (1..600).");
ABSL_FLAG(std::string, advertise_addr, "",
          "host:port command trainers use to reach this service (MLOPS_TRAINING_ADDR); "
          "empty = 127.0.0.1:<grpc_port> (local executor only).");
ABSL_FLAG(std::string, k8s_api_server, "",
          "Kubernetes API URL; empty = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.");
ABSL_FLAG(std::string, k8s_namespace, "",
          "Namespace of the trainer Jobs; empty = this pod's (the service account's namespace file).");
ABSL_FLAG(std::string, k8s_service_account, "", "Service account of the trainer pods; empty = default.");
ABSL_FLAG(std::string, k8s_work_pvc, "", "PersistentVolumeClaim (ReadWriteMany) mounted at --command_work_dir.");
ABSL_FLAG(std::string, k8s_token_secret, "",
          "Secret (key \"token\") the trainer pods read MLOPS_TOKEN from; empty = the value inline.");
ABSL_FLAG(std::string, k8s_default_cpu, "1", "CPU request and limit of a trainer pod when the spec gives none.");
ABSL_FLAG(std::string, k8s_default_memory, "2Gi", "Memory request and limit when the spec gives none.");

namespace {

// Everything the service needs, kept alive by BuiltService::state.
struct TrainingState {
  std::unique_ptr<mlops::training::PgTrackingStore> store;
  std::unique_ptr<mlops::training::PgJobStore> jobs_store;
  std::unique_ptr<mlops::training::PgRunLogStore> run_logs;
  std::unique_ptr<mlops::training::Tracking> tracking;
  std::unique_ptr<mlops::training::TrainingMetrics> metrics;
  std::unique_ptr<mlops::training::PeerTrainingData> data;          // null without ingestion
  std::unique_ptr<mlops::training::PeerModelRegistrar> registrar;   // null without registry
  std::unique_ptr<mlops::training::JobManager> jobs;                // null without ingestion
  std::unique_ptr<mlops::training::TriggerManager> triggers;        // null without ingestion
  std::unique_ptr<mlops::training::DatasetFollower> follower;       // null without ingestion
  std::unique_ptr<mlops::training::CommandExecutor> executor;       // null: command trainers off
  mlops::training::CommandSettings command;
};

const mlops::PeerChannel* Peer(const mlops::ServiceContext& ctx, mlops::PeerService s) {
  if (ctx.peers == nullptr || !ctx.peers->has(s)) return nullptr;
  absl::StatusOr<const mlops::PeerChannel*> peer = ctx.peers->Get(s);
  return peer.ok() ? *peer : nullptr;
}

constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  std::getline(f, line);
  return line;
}

// The executor and settings of command trainers from the flags.
absl::Status SetUpCommands(const mlops::ServiceContext& ctx, TrainingState* state) {
  const std::string kind = absl::GetFlag(FLAGS_command_executor);
  mlops::training::CommandSettings& c = state->command;
  c.work_root = absl::GetFlag(FLAGS_command_work_dir);
  c.keep_work_dirs = absl::GetFlag(FLAGS_command_keep_work_dirs);
  c.token = ctx.config->peers.token;
  c.training_addr = absl::GetFlag(FLAGS_advertise_addr);
  if (c.training_addr.empty() && ctx.config->grpc_port > 0) {
    c.training_addr = absl::StrCat("127.0.0.1:", ctx.config->grpc_port);
  }
  if (c.work_root.empty() || c.work_root[0] != '/') {
    return absl::InvalidArgumentError("--command_work_dir: an absolute path");
  }
  if (kind == "none") return absl::OkStatus();
  if (kind == "local") {
    const int grace = absl::GetFlag(FLAGS_command_kill_grace_seconds);
    if (grace < 1 || grace > 600) return absl::InvalidArgumentError("--command_kill_grace_seconds: 1..600");
    mlops::training::LocalExecutorOptions o;
    o.kill_grace = std::chrono::seconds(grace);
    state->executor = std::make_unique<mlops::training::LocalExecutor>(o);
  } else if (kind == "kubernetes") {
    mlops::training::KubernetesExecutorOptions o;
    o.api.server = absl::GetFlag(FLAGS_k8s_api_server);
    if (o.api.server.empty()) {
      const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
      const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
      if (host == nullptr) return absl::InvalidArgumentError("--k8s_api_server: not set and not in a pod");
      const std::string h = std::string(host).find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
      o.api.server = absl::StrCat("https://", h, ":", port ? port : "443");
    }
    o.api.token_file = absl::StrCat(kServiceAccountDir, "/token");
    o.api.ca_file = absl::StrCat(kServiceAccountDir, "/ca.crt");
    o.job.namespace_name = absl::GetFlag(FLAGS_k8s_namespace);
    if (o.job.namespace_name.empty()) o.job.namespace_name = ReadFirstLine(absl::StrCat(kServiceAccountDir, "/namespace"));
    if (o.job.namespace_name.empty()) return absl::InvalidArgumentError("--k8s_namespace: required outside a pod");
    o.job.service_account = absl::GetFlag(FLAGS_k8s_service_account);
    o.job.work_pvc = absl::GetFlag(FLAGS_k8s_work_pvc);
    if (o.job.work_pvc.empty()) return absl::InvalidArgumentError("--k8s_work_pvc: required with --command_executor=kubernetes");
    o.job.work_root = c.work_root;
    o.job.token_secret = absl::GetFlag(FLAGS_k8s_token_secret);
    o.job.default_cpu = absl::GetFlag(FLAGS_k8s_default_cpu);
    o.job.default_memory = absl::GetFlag(FLAGS_k8s_default_memory);
    if (absl::GetFlag(FLAGS_advertise_addr).empty()) {
      return absl::InvalidArgumentError("--advertise_addr: required with --command_executor=kubernetes (the Service's host:port)");
    }
    state->executor = std::make_unique<mlops::training::KubernetesExecutor>(o);
  } else {
    return absl::InvalidArgumentError("--command_executor: local, kubernetes or none");
  }
  c.executor = state->executor.get();
  return absl::OkStatus();
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
    job_options.replica_id = absl::GetFlag(FLAGS_replica_id);
    const int lease_seconds = absl::GetFlag(FLAGS_job_lease_seconds);
    if (lease_seconds < 2 || lease_seconds > 600) return absl::InvalidArgumentError("--job_lease_seconds: 2..600");
    job_options.lease_ttl = std::chrono::seconds(lease_seconds);
    auto state = std::make_shared<TrainingState>();
    state->store = std::make_unique<mlops::training::PgTrackingStore>(ctx.pool);
    state->jobs_store = std::make_unique<mlops::training::PgJobStore>(ctx.pool);
    state->run_logs = std::make_unique<mlops::training::PgRunLogStore>(ctx.pool);
    options.run_logs = state->run_logs.get();
    state->tracking = std::make_unique<mlops::training::Tracking>(state->store.get());
    state->metrics = std::make_unique<mlops::training::TrainingMetrics>(*ctx.registry);
    if (const mlops::PeerChannel* ingestion = Peer(ctx, mlops::PeerService::kIngestion)) {
      state->data = std::make_unique<mlops::training::PeerTrainingData>(
          ingestion, Peer(ctx, mlops::PeerService::kFeatures));
      if (const mlops::PeerChannel* registry = Peer(ctx, mlops::PeerService::kRegistry)) {
        state->registrar = std::make_unique<mlops::training::PeerModelRegistrar>(registry);
      }
      if (absl::Status s = SetUpCommands(ctx, state.get()); !s.ok()) return s;
      mlops::training::JobDeps deps{state->jobs_store.get(), state->tracking.get(), state->data.get(),
                                    state->registrar.get(), state->metrics.get(), &state->command,
                                    state->run_logs.get()};
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
