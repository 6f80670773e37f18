#include "common/server/ports_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mlops {
namespace {

// The integer value of "key" in a flat JSON object, or an error.
absl::StatusOr<int> IntField(std::string_view json, std::string_view key) {
  const std::string quoted = absl::StrCat("\"", std::string(key), "\"");
  const size_t at = json.find(quoted);
  if (at == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("ports file: missing \"", std::string(key), "\""));
  }
  size_t i = at + quoted.size();
  while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n')) ++i;
  if (i >= json.size() || json[i] != ':') {
    return absl::InvalidArgumentError(absl::StrCat("ports file: no ':' after \"", std::string(key), "\""));
  }
  ++i;
  while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n')) ++i;
  size_t end = i;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
  int value = 0;
  if (end == i ||
      !absl::SimpleAtoi(absl::string_view(json.data() + i, end - i), &value) ||
      value < 1 || value > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("ports file: \"", std::string(key), "\" is not a port in [1, 65535]"));
  }
  return value;
}

}  // namespace

std::string FormatPortsJson(const ServicePorts& ports) {
  return absl::StrCat("{\"grpc_port\":", ports.grpc_port, ",\"metrics_port\":",
                      ports.metrics_port, "}\n");
}

absl::StatusOr<ServicePorts> ParsePortsJson(std::string_view json) {
  absl::StatusOr<int> grpc_port = IntField(json, "grpc_port");
  if (!grpc_port.ok()) return grpc_port.status();
  absl::StatusOr<int> metrics_port = IntField(json, "metrics_port");
  if (!metrics_port.ok()) return metrics_port.status();
  return ServicePorts{*grpc_port, *metrics_port};
}

absl::Status WritePortsFile(const std::string& path, const ServicePorts& ports) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << FormatPortsJson(ports);
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::FailedPreconditionError(absl::StrCat("cannot write ports file ", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::FailedPreconditionError(
        absl::StrCat("cannot rename ", tmp, " to ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ServicePorts> ReadPortsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no ports file ", path));
  std::stringstream content;
  content << in.rdbuf();
  return ParsePortsJson(content.str());
}

}  // namespace mlops
