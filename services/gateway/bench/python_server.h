#pragma once
// Runs the benchmark's Python baseline (python_server.py: grpcio + xgboost)
// as a child process on 127.0.0.1: generates the Python protobuf stubs from
// proto/ with protoc into a scratch folder, saves the model there, starts
// /usr/bin/python3 and waits (bounded) for the port it writes. Owns the child
// and the scratch folder (/tmp/gateway_bench_*): the destructor kills the one
// and removes the other. Not thread-safe (one owner).

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/testing/process.h"

namespace mlops::gateway::bench {

// Empty when /usr/bin/python3 can import grpc, xgboost, numpy and
// google.protobuf; otherwise why not and how to install them.
std::string PythonBaselineMissing();

class PythonServer {
 public:
  // `source_dir`: the repository root (for proto/ and the script).
  static absl::StatusOr<std::unique_ptr<PythonServer>> Start(const std::string& source_dir,
                                                             const std::string& model_json,
                                                             int workers);
  ~PythonServer();
  int port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

 private:
  PythonServer() = default;
  std::string scratch_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

}  // namespace mlops::gateway::bench
