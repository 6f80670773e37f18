#include "tests/integration/local_platform.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/peers/health_check.h"
#include "common/status/status_macros.h"

namespace mlops::testing_platform {

namespace {

// Whether 127.0.0.1:`port` can be bound now (0: any port; `port` then holds
// the one the kernel chose).
bool Bindable(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(*port));
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (ok) *port = ntohs(addr.sin_port);
  return ok;
}

}  // namespace

absl::StatusOr<int> PickFreePort() {
  // Below Linux's ephemeral range (32768-60999): a port the kernel hands out
  // for outgoing connections (e.g. other tests' Postgres clients) could be
  // taken between this check and the service's bind.
  static thread_local absl::BitGen bits;
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = absl::Uniform(bits, 20000, 32768);
    if (Bindable(&port)) return port;
  }
  int port = 0;
  if (Bindable(&port)) return port;
  return absl::InternalError("bind on 127.0.0.1 failed");
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
    // The gRPC port is chosen here, since peers need it up front; the
    // metrics port by the service itself (0), read from its ports file.
    MLOPS_ASSIGN_OR_RETURN(running.grpc_port, PickFreePort());
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
                             "--metrics_port=0",
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
    // Written once both servers listen, before the service reports SERVING.
    absl::StatusOr<ServicePorts> ports = ReadPortsFile(absl::StrCat(dir_, "/", name, ".ports"));
    if (!ports.ok()) {
      return absl::Status(ports.status().code(),
                          absl::StrCat(name, ": its ports file: ", ports.status().message()));
    }
    running.metrics_port = ports->metrics_port;
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
