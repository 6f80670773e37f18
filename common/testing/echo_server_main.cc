// mlops_echo_server: TestEchoService behind the full service runtime
// (RunService). Used by process_test to exercise what integration tests do
// with the real binaries; also the shape of a service main.
//   --ports_file=PATH  --grpc_port=N  --metrics_port=N  --startup_failures=N

#include <atomic>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "common/log/log.h"
#include "common/server/run_service.h"
#include "common/testing/echo_service.h"

namespace {

// Parses --name=value; false when `arg` is not that flag.
bool IntFlag(const std::string& arg, const std::string& name, int* out) {
  const std::string prefix = "--" + name + "=";
  return absl::StartsWith(arg, prefix) && absl::SimpleAtoi(arg.substr(prefix.size()), out);
}

}  // namespace

int main(int argc, char** argv) {
  mlops::SetLogServiceName("echo");
  mlops::ServiceRunOptions options;
  options.service_name = "echo";
  options.grpc.host = "127.0.0.1";
  options.metrics.host = "127.0.0.1";
  int startup_failures = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--ports_file=")) {
      options.ports_file = arg.substr(std::string("--ports_file=").size());
    } else if (!IntFlag(arg, "grpc_port", &options.grpc.port) &&
               !IntFlag(arg, "metrics_port", &options.metrics.port) &&
               !IntFlag(arg, "startup_failures", &startup_failures)) {
      mlops::LogError("bad_flag", {{"flag", arg}});
      return 2;
    }
  }
  // A startup step that fails `startup_failures` times (a database coming up).
  std::atomic<int> attempts{0};
  options.readiness.initial_backoff = absl::Milliseconds(20);
  options.readiness.startup = [&] {
    return attempts++ < startup_failures ? absl::UnavailableError("not yet")
                                         : absl::OkStatus();
  };
  mlops::TestEchoService service;
  const absl::Status status = mlops::RunService(options, {&service});
  if (!status.ok()) {
    mlops::LogError("exit", {{"error", status.ToString()}});
    return 1;
  }
  return 0;
}
