#pragma once
// CommandExecutor: where a command trainer's program runs (a local process,
// or a Kubernetes Job). The caller (CommandTrial) has already written the
// data files into the invocation's work dir and built the environment; the
// executor runs the program to its end and says how it ended. Implementations
// are thread-safe (several trials run at once).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::training {

// One run of a command trainer's program.
struct CommandInvocation {
  std::string run_id;
  std::string job_id;
  std::vector<std::string> argv;
  // MLOPS_* and the spec's env (the executor may add its own base variables
  // such as PATH).
  std::map<std::string, std::string> env;
  std::string work_dir;  // holds the data files; MLOPS_MODEL_OUT points inside it
  std::chrono::milliseconds timeout{3600 * 1000};
  std::string image;   // Kubernetes only
  std::string cpu;     // Kubernetes resources; "" = the executor's defaults
  std::string memory;
};

// How the program ended.
struct CommandOutcome {
  bool exited = false;     // it ended by itself; exit_code is valid
  int exit_code = -1;
  int term_signal = 0;     // a signal ended it (not ours)
  bool timed_out = false;  // past the timeout (killed / deadline exceeded)
  bool stopped = false;    // ended because the trial was cancelled or the server drains
  std::string detail;      // the executor's own words (e.g. a Job condition's message)
  std::string stdout_text; // the kept tail of each stream ("" when not available)
  std::string stderr_text;
};

// "stdout" / "stderr" and one line of output, as it arrives (may be null).
using CommandLineFn = std::function<void(const std::string& stream, const std::string& line)>;

class CommandExecutor {
 public:
  virtual ~CommandExecutor() = default;
  // The executor's name for logs and errors ("local", "kubernetes").
  virtual std::string name() const = 0;
  // Runs the program to its end. An error means it could not be started or
  // watched (NotFound: no such program; Unavailable: the cluster API is
  // unreachable; InvalidArgument: e.g. no image for Kubernetes); how the
  // program itself ended is in the outcome. `should_stop` is polled.
  virtual absl::StatusOr<CommandOutcome> Execute(const CommandInvocation& invocation,
                                                 const std::function<bool()>& should_stop,
                                                 const CommandLineFn& on_line) = 0;
};

// The failure reason of an outcome, or "" if it succeeded (exit 0):
// "exit code 3", "timeout: timed out after 2s", "killed by signal 9",
// "cancelled".
std::string DescribeFailure(const CommandOutcome& outcome, std::chrono::milliseconds timeout);

}  // namespace mlops::training
