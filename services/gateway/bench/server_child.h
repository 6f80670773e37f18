#pragma once
// The benchmark's servers each in a process of their own, as services run in
// production: the benchmark binary re-executed with `--serve KIND` runs one
// server (ServeMain) and the measuring process keeps only the client. gRPC
// on Linux polls every socket of a process from one shared epoll set, so
// servers in the client's process hand events to and fro between their
// threads; apart, each process polls its own sockets. Children are started
// from the main thread (see ChildProcess) and killed by their owner.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/testing/process.h"

namespace mlops::gateway::bench {

// What a child serves.
enum class ServeKind {
  kFeatures,              // bench/feature_server.h (the feature service's online path)
  kPeers,                 // GatewayPeers (bench/gateway_stack.h): fake registry + monitoring
  kGateway,               // bench/gateway_stack.h (its feature lookups go to --features_port,
                          // its registry and monitoring to --peers_port)
  kFloor,                 // bench/floor_server.h
  kEchoBare,              // bench/echo_servers.h, EchoServerKind::kBare
  kEchoPlatform,          // EchoServerKind::kPlatform
  kEchoPlatformNoMetrics  // EchoServerKind::kPlatformNoMetrics
};

const char* ServeKindName(ServeKind kind);

// Polls `port_file` (a port number written by `child`) every 100 ms for up
// to `seconds`; FailedPrecondition with the child's log tail when it exits
// or the time passes first.
absl::StatusOr<int> WaitForPortFile(const std::string& port_file, ChildProcess& child,
                                    double seconds, const std::string& what);

// The child's side: `argv` holds "--serve KIND --model PATH --port_file PATH
// --cols N [--features_port N] [--peers_port N] [--no_log] [--xgboost_only]
// [--interceptor_metrics] [--deadlock_detection]". Starts the server, writes
// its port to the port file and serves until killed. Returns an exit code
// when it cannot start.
int ServeMain(int argc, char** argv);

class ServerChild {
 public:
  // Runs this binary (/proc/self/exe) with --serve `kind` and `args` (the
  // options above, --port_file excepted), waits (up to 60 s) for its port.
  static absl::StatusOr<std::unique_ptr<ServerChild>> Start(ServeKind kind,
                                                            const std::string& scratch,
                                                            std::vector<std::string> args);
  ~ServerChild();
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

 private:
  ServerChild() = default;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

}  // namespace mlops::gateway::bench
