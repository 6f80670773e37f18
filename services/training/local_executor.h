#pragma once
// LocalExecutor: runs command trainers as child processes of the service
// (ProcessRunner): argv without a shell, in the run's work dir, with only the
// invocation's environment plus PATH, LANG, LC_ALL and TZ of the service
// (none of its secrets) and HOME = the work dir. Stateless and thread-safe.

#include <chrono>
#include <string>

#include "services/training/command_executor.h"

namespace mlops::training {

struct LocalExecutorOptions {
  std::chrono::milliseconds kill_grace{10 * 1000};  // SIGTERM -> SIGKILL
  std::size_t max_output_bytes = 10 << 20;          // kept per stream
};

class LocalExecutor final : public CommandExecutor {
 public:
  explicit LocalExecutor(LocalExecutorOptions options = {}) : options_(options) {}
  std::string name() const override { return "local"; }
  absl::StatusOr<CommandOutcome> Execute(const CommandInvocation& invocation,
                                         const std::function<bool()>& should_stop,
                                         const CommandLineFn& on_line) override;

 private:
  LocalExecutorOptions options_;
};

}  // namespace mlops::training
