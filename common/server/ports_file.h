#pragma once
// The ports file: where a service that was started with port 0 tells its
// launcher (tests, the local run script) which ports it bound, as
//   {"grpc_port":50051,"metrics_port":9090}
// Stateless functions; thread-safe.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops {

struct ServicePorts {
  int grpc_port = 0;
  int metrics_port = 0;
};

std::string FormatPortsJson(const ServicePorts& ports);
// InvalidArgument unless both keys hold integers in [1, 65535].
absl::StatusOr<ServicePorts> ParsePortsJson(std::string_view json);

// Writes atomically: to "<path>.tmp.<pid>", then rename(2), so a reader never
// sees a partial file.
absl::Status WritePortsFile(const std::string& path, const ServicePorts& ports);
// NotFound when the file does not exist; InvalidArgument when malformed.
absl::StatusOr<ServicePorts> ReadPortsFile(const std::string& path);

}  // namespace mlops
