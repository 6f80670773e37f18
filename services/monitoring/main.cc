// mlops-monitoring: the monitoring service binary. See services/monitoring/.
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/monitoring_migrations.h"
#include "services/monitoring/action_runner.h"
#include "services/monitoring/auto_reference.h"
#include "services/monitoring/deployment_follower.h"
#include "services/monitoring/ingestion_profile_source.h"
#include "services/monitoring/metrics.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/peer_action_clients.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/pg_retention_store.h"
#include "services/monitoring/prediction_log_writer.h"
#include "services/monitoring/retention_sweeper.h"
#include "services/monitoring/training_data_clients.h"
#include "services/monitoring/webhook_client.h"
#include "services/monitoring/window_store.h"

ABSL_FLAG(int64_t, alert_eval_interval_ms, 5000,
          "How often every alert policy is evaluated (env MLOPS_ALERT_EVAL_INTERVAL_MS).");

ABSL_FLAG(std::string, webhook_ca_file, "",
          "PEM file of the CAs https webhooks trust instead of the system CA bundle (private "
          "CAs; env MLOPS_WEBHOOK_CA_FILE).");

ABSL_FLAG(int64_t, retention_sweep_interval_ms, 300000,
          "How often raw prediction data older than each model's raw retention is deleted "
          "(0: never; env MLOPS_RETENTION_SWEEP_INTERVAL_MS).");

ABSL_FLAG(int64_t, retention_batches_per_transaction, 10,
          "Retention deletes at most this many prediction batches (LogPredictions messages) "
          "per transaction (env MLOPS_RETENTION_BATCHES_PER_TRANSACTION).");

namespace {

// Everything the monitoring service needs, kept alive until exit.
struct MonitoringState {
  std::unique_ptr<mlops::monitoring::PgMonitoringStore> store;
  std::unique_ptr<mlops::monitoring::MonitoringMetrics> metrics;
  std::unique_ptr<mlops::monitoring::WindowStore> windows;
  std::unique_ptr<mlops::monitoring::PredictionLogWriter> writer;
  std::unique_ptr<mlops::monitoring::IngestionProfileSource> profiles;  // null without the peer
  std::unique_ptr<mlops::monitoring::GrpcRetrainClient> retrain;        // null without the peer
  std::unique_ptr<mlops::monitoring::GrpcRollbackClient> rollback;      // null without the peer
  std::unique_ptr<mlops::monitoring::WebhookClient> webhooks;
  std::unique_ptr<mlops::monitoring::ActionRunner> actions;
  // Automatic references on promotion (null without a registry peer).
  std::unique_ptr<mlops::monitoring::GrpcModelVersionSource> versions;
  std::unique_ptr<mlops::monitoring::GrpcTrainingRowSource> training_rows;  // null without features
  std::unique_ptr<mlops::monitoring::ServiceReferenceSink> sink;
  std::unique_ptr<mlops::monitoring::AutoReferencer> referencer;
  std::unique_ptr<mlops::monitoring::DeploymentFollower> follower;
  std::unique_ptr<mlops::monitoring::PgRetentionStore> retention_store;
  std::unique_ptr<mlops::monitoring::RetentionSweeper> retention;
  std::unique_ptr<mlops::monitoring::RetentionLoop> retention_loop;
};

mlops::monitoring::DeadlineContextFactory ContextsOf(const mlops::PeerChannel* peer) {
  return [peer](std::chrono::milliseconds deadline) { return peer->NewContext(deadline); };
}

// Follows the registry's deployments and sets references of versions that
// reach production (services/monitoring/auto_reference.h).
absl::Status BuildAutoReferences(mlops::ServiceContext& ctx,
                                 mlops::monitoring::MonitoringServiceImpl* service,
                                 MonitoringState* state) {
  if (ctx.peers == nullptr || !ctx.peers->has(mlops::PeerService::kRegistry)) {
    mlops::LogWarn("auto_references_off", {{"reason", "no registry peer configured"}});
    return absl::OkStatus();
  }
  absl::StatusOr<const mlops::PeerChannel*> registry =
      ctx.peers->Get(mlops::PeerService::kRegistry);
  if (!registry.ok()) return registry.status();
  state->versions = std::make_unique<mlops::monitoring::GrpcModelVersionSource>(
      (*registry)->channel(), ContextsOf(*registry));
  if (ctx.peers->has(mlops::PeerService::kFeatures)) {
    absl::StatusOr<const mlops::PeerChannel*> features =
        ctx.peers->Get(mlops::PeerService::kFeatures);
    if (!features.ok()) return features.status();
    state->training_rows = std::make_unique<mlops::monitoring::GrpcTrainingRowSource>(
        (*features)->channel(), ContextsOf(*features));
  }
  state->sink = std::make_unique<mlops::monitoring::ServiceReferenceSink>(service);
  state->referencer = std::make_unique<mlops::monitoring::AutoReferencer>(
      state->versions.get(), state->training_rows.get(), state->profiles.get(), state->sink.get(),
      state->metrics.get());
  mlops::monitoring::AutoReferencer* referencer = state->referencer.get();
  state->follower = std::make_unique<mlops::monitoring::DeploymentFollower>(
      (*registry)->channel(), ContextsOf(*registry),
      [referencer](const std::string& model, int64_t version) {
        referencer->OnProduction(model, version);
      });
  mlops::monitoring::DeploymentFollower* follower = state->follower.get();
  ctx.on_ready->push_back([referencer, follower] {
    referencer->Start();
    follower->Start();
  });
  ctx.on_drain->push_back([referencer, follower] {
    follower->Stop();
    referencer->Stop();
  });
  return absl::OkStatus();
}

// Deletes raw prediction data past each model's raw retention
// (services/monitoring/retention_sweeper.h), every --retention_sweep_interval_ms.
absl::Status BuildRetention(mlops::ServiceContext& ctx, MonitoringState* state) {
  const int64_t interval_ms = absl::GetFlag(FLAGS_retention_sweep_interval_ms);
  const int64_t batches = absl::GetFlag(FLAGS_retention_batches_per_transaction);
  if (interval_ms < 0) return absl::InvalidArgumentError("--retention_sweep_interval_ms: negative");
  if (batches < 1) {
    return absl::InvalidArgumentError("--retention_batches_per_transaction: below 1");
  }
  if (interval_ms == 0) {
    mlops::LogWarn("retention_off", {{"reason", "--retention_sweep_interval_ms=0"}});
    return absl::OkStatus();
  }
  state->retention_store = std::make_unique<mlops::monitoring::PgRetentionStore>(ctx.pool);
  mlops::monitoring::RetentionSweeperOptions options;
  options.now_micros = [] { return absl::ToUnixMicros(absl::Now()); };
  options.raw_retention_of = mlops::monitoring::RawRetentionFromConfigs(state->store.get());
  options.batches_per_transaction = batches;
  state->retention = std::make_unique<mlops::monitoring::RetentionSweeper>(
      state->retention_store.get(), state->metrics.get(), options);
  state->retention_loop = std::make_unique<mlops::monitoring::RetentionLoop>(
      state->retention.get(), std::chrono::milliseconds(interval_ms));
  mlops::monitoring::RetentionLoop* loop = state->retention_loop.get();
  ctx.on_ready->push_back([loop] { loop->Start(); });
  ctx.on_drain->push_back([loop] { loop->Stop(); });
  return absl::OkStatus();
}

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
    const int64_t interval_ms = absl::GetFlag(FLAGS_alert_eval_interval_ms);
    if (interval_ms < 100) {
      return absl::InvalidArgumentError("--alert_eval_interval_ms: below 100");
    }
    options.alert_eval_interval_micros = interval_ms * 1000;
    if (ctx.peers != nullptr && ctx.peers->has(mlops::PeerService::kIngestion)) {
      absl::StatusOr<const mlops::PeerChannel*> peer =
          ctx.peers->Get(mlops::PeerService::kIngestion);
      if (!peer.ok()) return peer.status();
      state->profiles = std::make_unique<mlops::monitoring::IngestionProfileSource>(*peer);
      options.profiles = state->profiles.get();
    }
    if (ctx.peers != nullptr && ctx.peers->has(mlops::PeerService::kTraining)) {
      absl::StatusOr<const mlops::PeerChannel*> peer =
          ctx.peers->Get(mlops::PeerService::kTraining);
      if (!peer.ok()) return peer.status();
      const mlops::PeerChannel* channel = *peer;
      state->retrain = std::make_unique<mlops::monitoring::GrpcRetrainClient>(
          channel->channel(), [channel] { return channel->NewContext(); });
    }
    if (ctx.peers != nullptr && ctx.peers->has(mlops::PeerService::kGateway)) {
      absl::StatusOr<const mlops::PeerChannel*> peer = ctx.peers->Get(mlops::PeerService::kGateway);
      if (!peer.ok()) return peer.status();
      const mlops::PeerChannel* channel = *peer;
      state->rollback = std::make_unique<mlops::monitoring::GrpcRollbackClient>(
          channel->channel(), [channel] { return channel->NewContext(); });
    }
    const std::string ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
    if (ca_file.empty()) {
      state->webhooks = mlops::monitoring::WebhookClient::WithSystemCas();
    } else {
      absl::StatusOr<std::unique_ptr<mlops::monitoring::WebhookClient>> webhooks =
          mlops::monitoring::WebhookClient::WithCaFile(ca_file);
      if (!webhooks.ok()) return webhooks.status();
      state->webhooks = std::move(*webhooks);
    }
    mlops::monitoring::ActionRunnerOptions action_options;
    action_options.webhooks = state->webhooks.get();
    state->actions = std::make_unique<mlops::monitoring::ActionRunner>(
        state->retrain.get(), state->rollback.get(), action_options);
    options.alert_actions = state->actions.get();
    options.alert_gauges = state->metrics.get();
    options.drift_gauges = state->metrics.get();
    auto service = std::make_shared<mlops::monitoring::MonitoringServiceImpl>(
        state->store.get(), state->windows.get(), state->writer.get(), ctx.authorizer,
        state->metrics.get(), options);
    mlops::monitoring::MonitoringServiceImpl* impl = service.get();
    mlops::monitoring::ActionRunner* actions = state->actions.get();
    actions->SetResultSink([impl](const std::string& id, int index,
                                  const mlops::monitoring::v1::ActionResult& result) {
      impl->alerts()->RecordAction(id, index, result);
    });
    ctx.on_ready->push_back([impl, actions] {
      actions->Start();
      absl::Status labels = impl->LoadPendingLabels();
      if (!labels.ok()) mlops::LogWarn("pending_labels_not_loaded", {{"status", labels.ToString()}});
      absl::Status s = impl->alerts()->Load();
      if (!s.ok()) mlops::LogWarn("alerts_not_loaded", {{"status", s.ToString()}});
      impl->alerts()->Start();
    });
    ctx.on_drain->push_back([impl, actions] {
      impl->alert_hub()->Close();  // WatchAlerts streams end UNAVAILABLE
      impl->alerts()->Stop();
      actions->Stop();
    });
    absl::Status auto_refs = BuildAutoReferences(ctx, impl, state.get());
    if (!auto_refs.ok()) return auto_refs;
    absl::Status retention = BuildRetention(ctx, state.get());
    if (!retention.ok()) return retention;
    mlops::BuiltService built;
    built.services.push_back(service);
    built.state = state;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
