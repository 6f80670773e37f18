#pragma once
// Child processes for integration tests: start a binary, collect its output in
// a log file, stop it the way Kubernetes does (SIGTERM, grace, SIGKILL), and
// wait for the ports file it writes when started with port 0.

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/ports_file.h"

namespace mlops {

// Owns one child process (fork + execve); the destructor SIGKILLs and reaps it
// if it still runs. The child also gets SIGKILL when the thread that started
// it ends (PR_SET_PDEATHSIG is per thread): start children from the test's
// main thread, not from a short-lived helper thread. Not thread-safe: use
// from one thread.
class ChildProcess {
 public:
  // Runs `path` with argv = {path, args...}, the parent's environment with
  // `env` added/overriding, stdin from /dev/null, stdout and stderr appended
  // to `log_path` (empty = a new file under $TMPDIR or /tmp). NotFound /
  // FailedPrecondition when the binary cannot be executed.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& path, const std::vector<std::string>& args,
      const std::map<std::string, std::string>& env = {}, std::string log_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The log file's content so far (its last `max_bytes`).
  std::string ReadLog(size_t max_bytes = 64 * 1024) const;

  // False once the process has exited (and has been reaped).
  bool Running();
  // Sends `signo` unless the process has already been reaped.
  void Signal(int signo);
  // Waits up to `timeout` for the process to exit. The exit code, or 128 +
  // signal number when killed by a signal; DeadlineExceeded if still running.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGTERM, then Wait(grace). If it is still running: SIGKILL, reap, and
  // DeadlineExceeded. Returns the exit code as Wait() does.
  absl::StatusOr<int> Terminate(absl::Duration grace = absl::Seconds(10));
  // SIGKILL and reap (no-op once reaped).
  void Kill();

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  // waitpid(WNOHANG); records the exit code. True once reaped.
  bool Reap();

  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// Polls `path` until it holds a valid ports file or `timeout` passes
// (DeadlineExceeded). If `child` is given and exits meanwhile:
// FailedPrecondition with its exit code and the tail of its log.
absl::StatusOr<ServicePorts> WaitForPortsFile(const std::string& path, absl::Duration timeout,
                                              ChildProcess* child = nullptr);

}  // namespace mlops
