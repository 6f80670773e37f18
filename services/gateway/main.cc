// mlops-gateway: the inference gateway binary. See services/gateway/SERVICE.md.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <random>

#include "absl/strings/str_format.h"
#include "common/log/log.h"
#include "common/server/service_main.h"
#include "mlops_migrations/gateway_migrations.h"
#include "services/gateway/batch_scoring.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/gateway_service.h"
#include "services/gateway/metrics.h"
#include "services/gateway/ingestion_client.h"
#include "services/gateway/periodic_loop.h"
#include "services/gateway/pg_batch_job_store.h"
#include "services/gateway/pg_endpoint_store.h"
#include "services/gateway/registry_client.h"
#include "services/gateway/rollout_convert.h"

namespace {

using namespace mlops::gateway;  // NOLINT: main only

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything the gateway needs, kept alive until exit (declaration order = build order).
struct GatewayState {
  std::unique_ptr<RegistryClient> registry;
  XgbModelLoader loader;
  std::unique_ptr<ModelCache> cache;
  std::unique_ptr<PgEndpointStore> store;
  std::unique_ptr<GatewayMetrics> metrics;
  std::unique_ptr<EndpointManager> endpoints;
  std::unique_ptr<PredictionLogger> logger;
  std::unique_ptr<Predictor> predictor;
  std::unique_ptr<PeriodicLoop> analyzer;
  std::unique_ptr<DeploymentWatcher> watcher;
  // Batch scoring (only with an ingestion service): its own registry client
  // (artifact reads recorded as BATCH_SCORING) and model cache.
  std::unique_ptr<RegistryClient> batch_registry;
  std::unique_ptr<ModelCache> batch_models;
  std::unique_ptr<IngestionClient> ingestion;
  std::unique_ptr<BatchFeaturesClient> batch_features;  // POINT_IN_TIME (with a feature service)
  std::unique_ptr<PgBatchJobStore> batch_store;
  std::unique_ptr<BatchScoring> batch;
};

std::string NewJobId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("bsj-%016x", rng());
}

}  // namespace

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"gateway", 50055, 9105, true};
  spec.usage = "mlops-gateway: the inference gateway of the MLOps platform";
  spec.migrations = &mlops::gateway::EmbeddedMigrations();
  spec.build = [](mlops::ServiceContext& ctx) -> absl::StatusOr<mlops::BuiltService> {
    if (ctx.pool == nullptr) return absl::FailedPreconditionError("the gateway needs Postgres");
    absl::StatusOr<const mlops::PeerChannel*> registry = ctx.peers->Get(mlops::PeerService::kRegistry);
    if (!registry.ok()) return registry.status();
    auto optional_peer = [&](mlops::PeerService p) -> const mlops::PeerChannel* {
      return ctx.peers->has(p) ? *ctx.peers->Get(p) : nullptr;
    };
    const std::string gateway_id = absl::StrFormat("gateway-%d", static_cast<int>(getpid()));
    auto st = std::make_shared<GatewayState>();
    st->registry = std::make_unique<RegistryClient>(*registry, gateway_id);
    st->cache = std::make_unique<ModelCache>(st->registry.get(), &st->loader, 16, NowMicros);
    st->store = std::make_unique<PgEndpointStore>(ctx.pool);
    st->metrics = std::make_unique<GatewayMetrics>(ctx.registry);
    EndpointManagerOptions eo;
    eo.now_micros = NowMicros;
    eo.parse_plan = PlanFromSpecBytes;
    st->endpoints = std::make_unique<EndpointManager>(st->cache.get(), st->registry.get(),
                                                      st->registry.get(), st->store.get(),
                                                      st->metrics.get(), eo);
    GatewayMetrics* metrics = st->metrics.get();
    PredictionLoggerOptions lo;
    lo.source = gateway_id;
    st->logger = std::make_unique<PredictionLogger>(
        optional_peer(mlops::PeerService::kMonitoring), lo,
        [metrics](int64_t n) { metrics->LogDropped(n); },
        [metrics](int64_t n) { metrics->LogSent(n); });
    PredictorOptions po;
    po.now_micros = NowMicros;
    st->predictor = std::make_unique<Predictor>(st->endpoints.get(),
                                                optional_peer(mlops::PeerService::kFeatures),
                                                st->logger.get(), st->metrics.get(), po);
    EndpointManager* endpoints = st->endpoints.get();
    st->analyzer = std::make_unique<PeriodicLoop>(std::chrono::milliseconds(200),
                                                  [endpoints] { endpoints->Tick(); });
    st->watcher = std::make_unique<DeploymentWatcher>(*registry, st->endpoints.get(), gateway_id,
                                                      NowMicros);
    if (const mlops::PeerChannel* ingestion = optional_peer(mlops::PeerService::kIngestion)) {
      st->batch_registry = std::make_unique<RegistryClient>(
          *registry, gateway_id, mlops::registry::v1::ARTIFACT_READ_PURPOSE_BATCH_SCORING);
      st->batch_models = std::make_unique<ModelCache>(st->batch_registry.get(), &st->loader, 2, NowMicros);
      st->ingestion = std::make_unique<IngestionClient>(ingestion);
      st->batch_store = std::make_unique<PgBatchJobStore>(ctx.pool);
      BatchScoringOptions bo;
      bo.runner.now_micros = NowMicros;
      bo.new_job_id = NewJobId;
      if (const mlops::PeerChannel* features = optional_peer(mlops::PeerService::kFeatures)) {
        st->batch_features = std::make_unique<BatchFeaturesClient>(features);
        bo.runner.features = st->batch_features.get();
      }
      st->batch = std::make_unique<BatchScoring>(st->batch_models.get(), st->batch_registry.get(),
                                                 st->ingestion.get(), st->batch_store.get(), bo);
    }
    GatewayState* raw = st.get();
    ctx.on_ready->push_back([raw] {
      if (absl::Status s = raw->endpoints->Restore(); !s.ok()) {
        mlops::LogError("endpoints_not_restored", {{"status", s.ToString()}});
      }
      raw->logger->Start();
      raw->analyzer->Start();
      raw->watcher->Start();
      if (raw->batch != nullptr) {
        if (absl::Status s = raw->batch->Restore(); !s.ok()) {
          mlops::LogError("batch_jobs_not_restored", {{"status", s.ToString()}});
        }
      }
    });
    ctx.on_drain->push_back([raw] {
      if (raw->batch != nullptr) raw->batch->Stop();  // a running job resumes at the next start
      raw->watcher->Stop();
      raw->analyzer->Stop();
      raw->logger->Stop();
    });
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<InferenceServiceImpl>(
        st->predictor.get(), st->endpoints.get(), ctx.authorizer, gateway_id, st->watcher.get(),
        st->batch.get(), ctx.rpc_metrics));
    built.state = st;
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
