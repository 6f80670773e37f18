#include "common/server/run_service.h"

#include <csignal>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/metrics/build_info.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/ports_file.h"
#include "common/server/signals.h"

namespace mlops {
namespace {

const char* SignalName(int signo) {
  switch (signo) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    default: return "unknown";
  }
}

}  // namespace

absl::Status RunService(const ServiceRunOptions& options,
                        const std::vector<grpc::Service*>& services) {
  if (options.service_name.empty()) {
    return absl::InvalidArgumentError("ServiceRunOptions.service_name is empty");
  }
  // Catch signals before anything starts, so an early SIGTERM drains cleanly.
  TerminationSignals signals;

  std::shared_ptr<prometheus::Registry> registry =
      options.registry ? options.registry : std::make_shared<prometheus::Registry>();
  AddBuildInfoMetric(*registry, CurrentBuildInfo(options.service_name));
  std::unique_ptr<RpcMetrics> own_rpc_metrics;
  RpcMetrics* rpc_metrics = options.rpc_metrics;
  if (rpc_metrics == nullptr) {
    own_rpc_metrics = std::make_unique<RpcMetrics>(*registry);
    rpc_metrics = own_rpc_metrics.get();
  }

  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics_server =
      MetricsServer::Start(options.metrics, registry);
  if (!metrics_server.ok()) return metrics_server.status();

  GrpcServerOptions grpc_options = options.grpc;
  grpc_options.service_name = options.service_name;
  absl::StatusOr<std::unique_ptr<GrpcServer>> grpc_server =
      GrpcServer::Start(grpc_options, services, rpc_metrics);
  if (!grpc_server.ok()) return grpc_server.status();
  GrpcServer& server = **grpc_server;

  const ServicePorts ports{server.port(), (*metrics_server)->port()};
  if (!options.ports_file.empty()) {
    if (absl::Status s = WritePortsFile(options.ports_file, ports); !s.ok()) return s;
  }
  LogInfo("serving", {{"grpc_port", std::to_string(ports.grpc_port)},
                      {"metrics_port", std::to_string(ports.metrics_port)}});

  ReadinessLoop readiness(options.readiness,
                          [&server](bool serving) { server.SetServing(serving); });
  readiness.Start();

  const int signo = signals.Wait();
  LogInfo("shutdown_requested", {{"signal", SignalName(signo)}});
  server.BeginDrain();  // NOT_SERVING now, even while a startup step still runs
  readiness.Stop();
  if (options.drain_notice > absl::ZeroDuration()) {
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(options.drain_notice));
  }
  if (options.on_drain) options.on_drain();
  server.Shutdown();
  grpc_server->reset();
  metrics_server->reset();  // civetweb takes ~2 s to stop
  if (!options.ports_file.empty()) std::remove(options.ports_file.c_str());
  LogInfo("stopped");
  return absl::OkStatus();
}

}  // namespace mlops
