#include "common/server/service_config.h"

#include <memory>

#include "common/auth/tls.h"

namespace mlops {

absl::StatusOr<ServiceRunOptions> ServiceRunOptionsFromConfig(const ServerConfig& config) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MakeServerCredentials(config.tls);
  if (!credentials.ok()) return credentials.status();
  ServiceRunOptions run;
  run.service_name = config.service_name;
  run.grpc.service_name = config.service_name;
  run.grpc.host = config.grpc_host;
  run.grpc.port = config.grpc_port;
  run.grpc.max_threads = config.grpc_max_threads;
  run.grpc.busy_poll = absl::Microseconds(config.grpc_busy_poll_us);
  run.grpc.max_message_bytes = config.grpc_max_message_bytes;
  run.grpc.shutdown_grace = absl::Seconds(config.shutdown_grace_seconds);
  run.grpc.credentials = *std::move(credentials);
  run.metrics.host = config.grpc_host;
  run.metrics.port = config.metrics_port;
  run.ports_file = config.ports_file;
  return run;
}

}  // namespace mlops
