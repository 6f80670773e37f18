#include "services/gateway/bench/python_server.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/gateway/bench/server_child.h"

namespace mlops::gateway::bench {
namespace {

constexpr char kPython[] = "/usr/bin/python3";

// Runs a program to its end (at most `seconds`); its exit code.
absl::StatusOr<int> RunToEnd(const std::string& path, const std::vector<std::string>& args,
                             double seconds, std::string* log) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> p = ChildProcess::Start(path, args);
  if (!p.ok()) return p.status();
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(seconds));
  if (log != nullptr) *log = (*p)->ReadLog(4096);
  return code;
}

}  // namespace

std::string PythonBaselineMissing() {
  std::string log;
  absl::StatusOr<int> code = RunToEnd(
      kPython, {"-c", "import grpc, numpy, xgboost, google.protobuf"}, 60, &log);
  if (code.ok() && *code == 0) return "";
  return absl::StrCat(kPython, " cannot import grpc, numpy, xgboost and google.protobuf (",
                      code.ok() ? log : code.status().ToString(),
                      "); install them with: apt-get install python3-grpcio python3-xgboost "
                      "python3-protobuf (or scripts/setup.sh --bench)");
}

PythonServer::~PythonServer() {
  if (child_ != nullptr) child_->Kill();
  std::error_code ignored;
  if (!scratch_.empty()) std::filesystem::remove_all(scratch_, ignored);
}

absl::StatusOr<std::unique_ptr<PythonServer>> PythonServer::Start(const std::string& source_dir,
                                                                  const std::string& model_json,
                                                                  int workers) {
  std::unique_ptr<PythonServer> server(new PythonServer());
  char scratch_template[] = "/tmp/gateway_bench_XXXXXX";
  if (mkdtemp(scratch_template) == nullptr) {
    return absl::FailedPreconditionError("cannot create a scratch folder under /tmp");
  }
  server->scratch_ = scratch_template;
  const std::string& scratch = server->scratch_;
  const std::string stubs = scratch + "/stubs";
  std::string log;
  absl::StatusOr<int> code = RunToEnd("/bin/mkdir", {"-p", stubs}, 10, &log);
  if (code.ok() && *code == 0) {
    code = RunToEnd(MLOPS_BENCH_PROTOC,
                    {absl::StrCat("--proto_path=", source_dir, "/proto"),
                     absl::StrCat("--python_out=", stubs), "mlops/common/v1/common.proto",
                     "mlops/registry/v1/registry.proto", "mlops/inference/v1/inference.proto"},
                    60, &log);
  }
  if (!code.ok()) return code.status();
  if (*code != 0) return absl::FailedPreconditionError(absl::StrCat("protoc failed: ", log));
  const std::string model_path = scratch + "/model.json";
  const std::string port_file = scratch + "/python.port";
  std::remove(port_file.c_str());
  {
    std::ofstream out(model_path, std::ios::binary);
    out << model_json;
    if (!out) return absl::FailedPreconditionError("cannot write " + model_path);
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(
      kPython, {source_dir + "/services/gateway/bench/python_server.py", "--model", model_path,
                "--stubs", stubs, "--port_file", port_file, "--workers", std::to_string(workers)});
  if (!child.ok()) return child.status();
  server->child_ = std::move(*child);
  absl::StatusOr<int> port = WaitForPortFile(port_file, *server->child_, 30, "python server");
  if (!port.ok()) return port.status();
  server->port_ = *port;
  return server;
}

}  // namespace mlops::gateway::bench
