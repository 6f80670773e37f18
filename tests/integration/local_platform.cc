#include "tests/integration/local_platform.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/peers/health_check.h"
#include "common/status/status_macros.h"

namespace mlops::testing_platform {

absl::StatusOr<int> PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InternalError("bind/getsockname on 127.0.0.1:0 failed");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

absl::StatusOr<std::unique_ptr<LocalPlatform>> LocalPlatform::Create(
    const std::string& admin_dsn) {
  std::unique_ptr<LocalPlatform> platform(new LocalPlatform());
  MLOPS_ASSIGN_OR_RETURN(platform->db_, PgTestDatabase::Create(admin_dsn, "it"));
  char tmpl[] = "/tmp/mlops-it-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  platform->dir_ = tmpl;

  MLOPS_ASSIGN_OR_RETURN(platform->admin_token_, GenerateToken());
  MLOPS_ASSIGN_OR_RETURN(platform->viewer_token_, GenerateToken());
  MLOPS_ASSIGN_OR_RETURN(std::string service_token, GenerateToken());
  const std::string tokens_file = platform->dir_ + "/tokens";
  {
    std::ofstream out(tokens_file);
    out << "# integration test tokens\n"
        << HashToken(platform->admin_token_) << " test-admin admin\n"
        << HashToken(platform->viewer_token_) << " test-viewer viewer\n"
        << HashToken(service_token) << " platform-services admin\n";
    if (!out) return absl::InternalError("cannot write " + tokens_file);
  }
  platform->env_ = {{"MLOPS_DATABASE_URL", platform->db_->dsn()},
                    {"MLOPS_AUTH_TOKENS_FILE", tokens_file},
                    {"MLOPS_PEER_TOKEN", service_token},
                    {"MLOPS_SHUTDOWN_GRACE_SECONDS", "10"},
                    {"MLOPS_PG_POOL_SIZE", "4"}};
  return platform;
}

absl::Status LocalPlatform::Start(const std::vector<ServiceBinary>& binaries,
                                  absl::Duration timeout) {
  // Ports first, so that every service knows its peers' addresses.
  for (const ServiceBinary& binary : binaries) {
    RunningService running;
    running.binary = binary;
    MLOPS_ASSIGN_OR_RETURN(running.grpc_port, PickFreePort());
    MLOPS_ASSIGN_OR_RETURN(running.metrics_port, PickFreePort());
    std::string upper = binary.name;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    env_["MLOPS_" + upper + "_ADDR"] = running.address();
    services_[binary.name] = std::move(running);
  }
  for (auto& [name, running] : services_) {
    if (running.process) continue;
    const std::string ports_file = absl::StrCat(dir_, "/", name, ".ports");
    MLOPS_ASSIGN_OR_RETURN(
        running.process,
        ChildProcess::Start(running.binary.path,
                            {"--grpc_host=127.0.0.1",
                             absl::StrCat("--grpc_port=", running.grpc_port),
                             absl::StrCat("--metrics_port=", running.metrics_port),
                             "--ports_file=" + ports_file},
                            env_, absl::StrCat(dir_, "/", name, ".log")));
  }
  for (auto& [name, running] : services_) {
    absl::Status serving = WaitForServing(running.address(), timeout);
    if (!serving.ok()) {
      return absl::Status(serving.code(),
                          absl::StrCat(name, " did not become SERVING: ", serving.message(),
                                       "\n--- log ---\n", running.process->ReadLog(4096)));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, int> LocalPlatform::StopAll(absl::Duration grace) {
  for (auto& [name, running] : services_) {
    if (running.process && running.process->Running()) running.process->Signal(SIGTERM);
  }
  // One SIGTERM each (sent above), then wait: a second SIGTERM could arrive
  // after a service stopped catching signals on its way out and kill it.
  std::map<std::string, int> codes;
  for (auto& [name, running] : services_) {
    if (!running.process) continue;
    absl::StatusOr<int> code = running.process->Wait(grace);
    if (!code.ok()) {
      running.process->Kill();
      codes[name] = -1;
      continue;
    }
    codes[name] = *code;
  }
  return codes;
}

LocalPlatform::~LocalPlatform() {
  StopAll(absl::Seconds(5));
  services_.clear();
  std::error_code ignored;
  if (!dir_.empty() && std::getenv("MLOPS_KEEP_TEST_DIR") == nullptr) {
    std::filesystem::remove_all(dir_, ignored);
  }
}

}  // namespace mlops::testing_platform
