#pragma once
// What every mlopsctl command receives: resolved config, output helpers,
// channels and per-call contexts with the deadline and bearer token.
// Single-threaded use.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "services/cli/cli_config.h"

namespace mlops::cli {

// Exit codes, documented in `mlopsctl help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,        // the operation ran and said no (e.g. a rejected batch)
  kExitUsage = 2,         // bad command line or config
  kExitUnavailable = 3,   // a service is unreachable or timed out
  kExitNotFound = 4,
  kExitInvalid = 5,       // the server rejected the input (INVALID_ARGUMENT, FAILED_PRECONDITION, ...)
  kExitAuth = 6,          // UNAUTHENTICATED / PERMISSION_DENIED
};

// Maps a status to an exit code and prints "error: <message>" plus a hint of
// what to do on stderr.
int ReportError(const absl::Status& status, const std::string& what);

// For a bad command line: prints the problem and returns kExitUsage.
int UsageError(const absl::Status& status, const std::string& command);

class CliContext {
 public:
  explicit CliContext(CliConfig config) : config_(std::move(config)) {}

  const CliConfig& config() const { return config_; }
  bool json() const { return config_.json; }
  // The channel to a service by name ("registry"); created once.
  std::shared_ptr<grpc::Channel> Channel(const std::string& service);
  std::string Address(const std::string& service) const;
  // A context with the configured deadline (or `timeout` if given) and token.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

 private:
  CliConfig config_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

struct Command {
  std::string name;      // "status", "datasets list", ...
  std::string usage;     // "status [--wait=60s]"
  std::string summary;   // one line
  std::function<int(CliContext&, const std::vector<std::string>& args)> run;
};

// Each area adds its commands (services/cli/<area>_commands.cc).
void AddStatusCommands(std::vector<Command>& commands);
void AddRegistryCommands(std::vector<Command>& commands);
void AddDatasetCommands(std::vector<Command>& commands);
void AddDatasetIngestCommands(std::vector<Command>& commands);
void AddModelCommands(std::vector<Command>& commands);
void AddMonitoringCommands(std::vector<Command>& commands);
void AddServingCommands(std::vector<Command>& commands);
void AddFeatureCommands(std::vector<Command>& commands);
void AddTrainingCommands(std::vector<Command>& commands);
void AddRolloutCommands(std::vector<Command>& commands);
void AddAlertCommands(std::vector<Command>& commands);
void AddBatchCommands(std::vector<Command>& commands);

}  // namespace mlops::cli
