#pragma once
// The servers one gateway_benchmark run measures (besides Python's): the
// gateway with its peers, the floor, and the c=1 study's echo servers,
// either each in its own process (server_child.h; the default: the gateway,
// the feature service, the gateway's fake registry + monitoring, the floor,
// each echo) or all in the measuring process (as before). Not thread-safe; owns the servers or the
// child processes.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/bench/gateway_stack.h"

namespace mlops::gateway::bench {

struct BenchServersOptions {
  GatewayStackOptions gateway;   // model_json and cols are the floor's too
  bool separate_processes = true;
  bool study = true;             // start the study's echo servers
  bool deadlock_detection = false;  // passed to children (see gateway_benchmark.cc)
  // > 0 (separate processes only): also a second gateway and feature
  // service whose servers busy-poll this long (--grpc_busy_poll_us).
  int busy_poll_us = 0;
};

// A study echo server: its line name and port.
struct StudyEcho {
  std::string name;
  int port = 0;
  std::vector<pid_t> pids;  // its process (empty in process)
};

class BenchServers {
 public:
  static absl::StatusOr<std::unique_ptr<BenchServers>> Start(const BenchServersOptions& options);
  ~BenchServers();

  int gateway_port() const { return gateway_port_; }
  int floor_port() const { return floor_port_; }
  // The feature service the gateway fetches from: 0 in process.
  int features_port() const { return features_port_; }
  // A second gateway whose lookups are unary calls (the study; separate
  // processes only, else 0), and its processes.
  int unary_gateway_port() const { return unary_gateway_port_; }
  const std::vector<pid_t>& unary_gateway_pids() const { return unary_gateway_pids_; }
  // The busy-polling gateway (BenchServersOptions::busy_poll_us; else 0)
  // and its processes (gateway, its own feature service, the shared peers).
  int busy_gateway_port() const { return busy_gateway_port_; }
  const std::vector<pid_t>& busy_gateway_pids() const { return busy_gateway_pids_; }
  // The processes serving the gateway's lines (gateway, feature service, the
  // fake registry + monitoring) and the floor's: empty in process.
  const std::vector<pid_t>& gateway_pids() const { return gateway_pids_; }
  const std::vector<pid_t>& floor_pids() const { return floor_pids_; }
  const std::vector<StudyEcho>& study() const { return study_; }

 private:
  struct Parts;
  BenchServers();
  std::unique_ptr<Parts> parts_;
  int gateway_port_ = 0, floor_port_ = 0, features_port_ = 0, unary_gateway_port_ = 0,
      busy_gateway_port_ = 0;
  std::vector<pid_t> gateway_pids_, floor_pids_, unary_gateway_pids_, busy_gateway_pids_;
  std::vector<StudyEcho> study_;
};

}  // namespace mlops::gateway::bench
