#pragma once
// RunService: everything a service's main does after building its objects.
// Serves until SIGTERM/SIGINT, drains, and returns OK (main then returns 0).
//
//   mlops::ServiceRunOptions run;
//   run.service_name = "registry";
//   run.grpc.port = absl::GetFlag(FLAGS_grpc_port);
//   run.metrics.port = absl::GetFlag(FLAGS_metrics_port);
//   run.registry = registry;                       // shared with the service's metrics
//   run.readiness.startup = [&] { return MigrateAndConnect(...); };
//   run.readiness.probe = [&] { return pool.Ping(); };
//   absl::Status s = mlops::RunService(run, {&service});
// (common/server/service_config.h fills most of `run` from a ServerConfig.)

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/metrics/metrics_server.h"
#include "common/server/grpc_server.h"
#include "common/server/readiness_loop.h"
#include "grpcpp/impl/service_type.h"
#include "prometheus/registry.h"

namespace mlops {

struct ServiceRunOptions {
  // e.g. "registry": the service label of mlops_build_info and the gRPC
  // server's name in logs (copied into grpc.service_name).
  std::string service_name;
  GrpcServerOptions grpc;
  MetricsServerOptions metrics;
  // Registry served on /metrics, where the service's own families live too.
  // Null = a fresh one.
  std::shared_ptr<prometheus::Registry> registry;
  // The per-RPC metrics (registered on `registry`); null = RunService makes
  // them. Set when a handler records its own calls (RecordedByHandler).
  RpcMetrics* rpc_metrics = nullptr;
  // If set, {"grpc_port":N,"metrics_port":M} is written here (atomically) once
  // both servers listen, and removed on exit.
  std::string ports_file;
  // Startup step and health probe; health is NOT_SERVING until startup succeeds.
  ReadinessOptions readiness;
  // On SIGTERM, health reports NOT_SERVING this long before the server stops
  // accepting RPCs (lets load balancers notice); then grpc.shutdown_grace applies.
  absl::Duration drain_notice = absl::ZeroDuration();
  // Called once on SIGTERM/SIGINT, after health went NOT_SERVING and
  // drain_notice passed, before the server stops: end long-lived streams here (e.g. WatchAlerts), or they
  // hold the drain until grpc.shutdown_grace and are then cancelled.
  std::function<void()> on_drain;
};

// Starts the metrics server (with mlops_build_info) and the gRPC server (with
// RPC metrics for every method), writes the ports file, logs
// "event=serving grpc_port=.. metrics_port=..", runs the readiness loop, waits
// for SIGTERM or SIGINT, drains (NOT_SERVING, then Shutdown within
// grpc.shutdown_grace) and stops both servers. Returns OK after a clean
// drain; an error when a server cannot start (bad options, port taken) or
// the ports file cannot be written. `services` must outlive the call.
// SIGTERM/SIGINT are caught from the start of the call to its return.
absl::Status RunService(const ServiceRunOptions& options,
                        const std::vector<grpc::Service*>& services);

}  // namespace mlops
