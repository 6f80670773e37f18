#pragma once
// FeaturesStack: the feature service wired together (store, ingestion
// client, event table cache, view registry, historical retrieval,
// materializer, online server, metrics, gRPC handlers). main.cc and the
// service tests build it the same way. Owns everything but the pool, the
// channel, the metric registry and the authorizer. Thread-safe as its parts.

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/authorizer.h"
#include "common/db/pg_pool.h"
#include "common/metrics/rpc_metrics.h"
#include "grpcpp/channel.h"
#include "grpcpp/impl/service_type.h"
#include "prometheus/registry.h"
#include "services/features/ingestion_client.h"

namespace mlops::features {

struct FeaturesStackOptions {
  // Micros since the epoch; null = the system clock.
  std::function<int64_t()> clock;
  // Event tables kept in memory for historical retrieval and materialization.
  size_t event_cache_bytes = size_t{2} << 30;
  // Source columns kept while several views read the same dataset version
  // (each column is then read from ingestion once; SourceColumnCache).
  size_t source_cache_bytes = size_t{1} << 30;
  // Threads for building tables, joins and snapshots (caller included).
  int threads = 2;
  // GetOnlineFeatures: most entity rows per call.
  int max_online_entities = 1000;
  // How often the watcher polls ingestion for new dataset versions.
  absl::Duration watch_interval = absl::Seconds(5);
  // The gRPC server's per-RPC metrics (FeatureServiceDeps::rpc_metrics):
  // GetOnlineFeatures records its calls itself. Null: the interceptor does.
  RpcMetrics* rpc_metrics = nullptr;
};

class FeaturesStack {
 public:
  static absl::StatusOr<std::unique_ptr<FeaturesStack>> Create(
      PgPool* pool, std::shared_ptr<grpc::Channel> ingestion_channel,
      IngestionClient::ContextFactory ingestion_context, prometheus::Registry* registry,
      const Authorizer* authorizer, FeaturesStackOptions options);
  ~FeaturesStack();

  grpc::Service* service();

  // Loads the newest successful materialization of every view version from
  // the online store into memory (startup: serve at once).
  absl::Status LoadOnlineStore();

  // The background watcher (AUTO views follow their datasets).
  void StartWatcher();
  void StopWatcher();

  // One watcher pass, synchronously (tests).
  void WatchOnce();

 private:
  struct Parts;
  explicit FeaturesStack(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace mlops::features
