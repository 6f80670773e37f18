#pragma once
// The bridge from the validated ServerConfig (common/config: flags + env) to
// RunService's options, so that every main maps them the same way:
//
//   MLOPS_ASSIGN_OR_RETURN(mlops::ServiceRunOptions run,
//                          mlops::ServiceRunOptionsFromConfig(*config));
//   run.registry = registry;
//   run.readiness.startup = ...;
//
// Separate target (mlops_server_config) so that mlops_server does not pull in
// config and auth. Stateless; thread-safe.

#include "absl/status/statusor.h"
#include "common/config/server_config.h"
#include "common/server/run_service.h"

namespace mlops {

// service_name, grpc host/port/max threads/max message bytes/shutdown grace,
// TLS server credentials (from config.tls; plaintext when unset), metrics
// port (bound on grpc_host), ports file. InvalidArgument when the TLS files
// are unusable (see MakeServerCredentials).
absl::StatusOr<ServiceRunOptions> ServiceRunOptionsFromConfig(const ServerConfig& config);

}  // namespace mlops
