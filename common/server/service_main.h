#pragma once
// The whole of a service binary's main(), shared by the six services so that
// each main.cc only says what differs: its name and ports, its migrations, and
// how to build its gRPC services from the shared context.
//
//   int main(int argc, char** argv) {
//     mlops::ServiceMainSpec spec;
//     spec.defaults = {.service_name = "registry", .grpc_port = 50054, .metrics_port = 9104};
//     spec.migrations = &mlops::registry::EmbeddedMigrations();
//     spec.build = [](mlops::ServiceContext& ctx) { ... return services; };
//     return mlops::RunServiceMain(argc, argv, spec);
//   }
//
// Order of work: flags (with MLOPS_* env fallbacks) -> validated ServerConfig
// -> logging -> token store and Authorizer -> Postgres pool (lazy) -> peer
// channels -> spec.build -> RunService, whose startup step runs the schema's
// migrations (under an advisory lock; retried with backoff while the database
// is unreachable, health NOT_SERVING meanwhile) and whose probe pings the pool.
// With --migrate_only the binary migrates and exits (Helm hook Job).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/auth/authorizer.h"
#include "common/config/server_config.h"
#include "common/db/migrations.h"
#include "common/db/pg_pool.h"
#include "common/metrics/rpc_metrics.h"
#include "common/peers/peer_channel.h"
#include "grpcpp/impl/service_type.h"
#include "prometheus/registry.h"

namespace mlops {

// What spec.build receives; everything in it outlives the services.
struct ServiceContext {
  const ServerConfig* config = nullptr;
  const Authorizer* authorizer = nullptr;
  PgPool* pool = nullptr;            // null when the service needs no database
  const PeerChannels* peers = nullptr;
  prometheus::Registry* registry = nullptr;  // the service's own metric families go here
  // Background work the service owns (loops, watchers): started after the
  // startup step (migrations) succeeded, stopped on drain, before the server stops.
  std::vector<std::function<void()>>* on_ready = nullptr;
  std::vector<std::function<void()>>* on_drain = nullptr;
  // The gRPC server's per-RPC metrics, for a hot handler that records its
  // own calls (RpcMetrics::RecordedByHandler); the interceptor does the rest.
  RpcMetrics* rpc_metrics = nullptr;
};

// A built service: the gRPC service objects plus whatever owns their state.
struct BuiltService {
  std::vector<std::shared_ptr<grpc::Service>> services;
  std::shared_ptr<void> state;  // domain objects, stores, threads: kept alive until exit
};

struct ServiceMainSpec {
  ServerDefaults defaults;
  std::string usage;  // one line for --help
  // The schema's migrations (mlops_embed_migrations); null = none yet, the
  // schema and its bookkeeping table are still created.
  const std::vector<Migration>* migrations = nullptr;
  std::function<absl::StatusOr<BuiltService>(ServiceContext&)> build;
};

// Runs the service until SIGTERM/SIGINT. Returns the process exit code:
// 0 after a clean drain, 1 when it cannot start, 2 for bad configuration.
int RunServiceMain(int argc, char** argv, const ServiceMainSpec& spec);

}  // namespace mlops
