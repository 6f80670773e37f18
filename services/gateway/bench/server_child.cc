#include "services/gateway/bench/server_child.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/gateway/bench/echo_servers.h"
#include "services/gateway/bench/feature_server.h"
#include "services/gateway/bench/floor_server.h"
#include "services/gateway/bench/gateway_stack.h"

namespace mlops::gateway::bench {
namespace {

struct Kind {
  ServeKind kind;
  const char* name;
};
constexpr Kind kKinds[] = {{ServeKind::kFeatures, "features"},
                           {ServeKind::kPeers, "peers"},
                           {ServeKind::kGateway, "gateway"},
                           {ServeKind::kFloor, "floor"},
                           {ServeKind::kEchoBare, "echo_bare"},
                           {ServeKind::kEchoPlatform, "echo_platform"},
                           {ServeKind::kEchoPlatformNoMetrics, "echo_platform_no_metrics"}};

// Writes `port` to `path` atomically (the parent polls the file).
bool WritePort(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Serves until the process is killed.
[[noreturn]] void ServeForever() {
  for (;;) pause();
}

}  // namespace

const char* ServeKindName(ServeKind kind) {
  for (const Kind& k : kKinds) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

absl::StatusOr<int> WaitForPortFile(const std::string& port_file, ChildProcess& child,
                                    double seconds, const std::string& what) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return port;
    if (!child.Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(what, " did not start: ", child.ReadLog(4096)));
}

int ServeMain(int argc, char** argv) {
  std::string kind_name, model_path, port_file;
  GatewayStackOptions go;
  bool deadlock_detection = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--serve") == 0 && i + 1 < argc) kind_name = argv[++i];
    else if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc) model_path = argv[++i];
    else if (std::strcmp(argv[i], "--port_file") == 0 && i + 1 < argc) port_file = argv[++i];
    else if (std::strcmp(argv[i], "--cols") == 0 && i + 1 < argc) go.cols = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--features_port") == 0 && i + 1 < argc) go.features_port = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--peers_port") == 0 && i + 1 < argc) go.peers_port = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--no_log") == 0) go.prediction_log = false;
    else if (std::strcmp(argv[i], "--xgboost_only") == 0) go.flat_trees = false;
    else if (std::strcmp(argv[i], "--interceptor_metrics") == 0) go.self_recorded_metrics = false;
    else if (std::strcmp(argv[i], "--unary_lookups") == 0) go.stream_lookups = false;
    else if (std::strcmp(argv[i], "--busy_poll_us") == 0 && i + 1 < argc) go.busy_poll_us = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--deadlock_detection") == 0) deadlock_detection = true;
  }
  // As every service's main does (common/server/service_main.cc).
  if (!deadlock_detection) absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds) {
    if (kind_name == k.name) kind = &k;
  }
  if (kind == nullptr || port_file.empty()) {
    std::fprintf(stderr, "--serve: unknown kind \"%s\" or no --port_file\n", kind_name.c_str());
    return 2;
  }
  if (!model_path.empty()) {
    std::ifstream in(model_path, std::ios::binary);
    go.model_json.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  absl::Status failed;
  int port = 0;
  // Each kind's server stays alive in ServeForever's frame.
  std::unique_ptr<FeatureServer> features;
  std::unique_ptr<GatewayPeers> peers;
  std::unique_ptr<GatewayStack> gateway;
  std::unique_ptr<FloorServer> floor;
  std::unique_ptr<EchoServer> echo;
  auto keep = [&](auto started, auto& slot) {
    if (!started.ok()) {
      failed = started.status();
      return;
    }
    slot = std::move(*started);
  };
  switch (kind->kind) {
    case ServeKind::kFeatures:
      keep(FeatureServer::Start(go.cols, 1000, go.busy_poll_us), features);
      if (features != nullptr) port = features->port();
      break;
    case ServeKind::kPeers:
      keep(GatewayPeers::Start(go.model_json, go.cols), peers);
      if (peers != nullptr) port = peers->port();
      break;
    case ServeKind::kGateway:
      keep(GatewayStack::Start(go), gateway);
      if (gateway != nullptr) port = gateway->port();
      break;
    case ServeKind::kFloor:
      keep(FloorServer::Start(go.model_json, go.cols), floor);
      if (floor != nullptr) port = floor->port();
      break;
    case ServeKind::kEchoBare:
    case ServeKind::kEchoPlatform:
    case ServeKind::kEchoPlatformNoMetrics:
      keep(EchoServer::Start(kind->kind == ServeKind::kEchoBare       ? EchoServerKind::kBare
                             : kind->kind == ServeKind::kEchoPlatform ? EchoServerKind::kPlatform
                                                                      : EchoServerKind::kPlatformNoMetrics),
           echo);
      if (echo != nullptr) port = echo->port();
      break;
  }
  if (!failed.ok() || port <= 0) {
    std::fprintf(stderr, "--serve %s: %s\n", kind->name, failed.ToString().c_str());
    return 1;
  }
  if (!WritePort(port_file, port)) {
    std::fprintf(stderr, "--serve %s: cannot write %s\n", kind->name, port_file.c_str());
    return 1;
  }
  ServeForever();
}

absl::StatusOr<std::unique_ptr<ServerChild>> ServerChild::Start(ServeKind kind,
                                                                const std::string& scratch,
                                                                std::vector<std::string> args) {
  std::unique_ptr<ServerChild> out(new ServerChild());
  const std::string port_file = absl::StrCat(scratch, "/", ServeKindName(kind), ".port");
  std::remove(port_file.c_str());
  args.insert(args.begin(), {"--serve", ServeKindName(kind), "--port_file", port_file});
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return absl::FailedPreconditionError("cannot read /proc/self/exe");
  self[n] = '\0';
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(self, args, {},
                          absl::StrCat(scratch, "/", ServeKindName(kind), ".log"));
  if (!child.ok()) return child.status();
  out->child_ = std::move(*child);
  absl::StatusOr<int> port = WaitForPortFile(
      port_file, *out->child_, 60, absl::StrCat("benchmark server ", ServeKindName(kind)));
  if (!port.ok()) return port.status();
  out->port_ = *port;
  return out;
}

ServerChild::~ServerChild() {
  if (child_ != nullptr) child_->Kill();
}

}  // namespace mlops::gateway::bench
