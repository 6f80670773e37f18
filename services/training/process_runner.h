#pragma once
// ProcessRunner: runs one program to its end the way a command trainer
// needs it: argv (no shell), an explicit environment (nothing inherited),
// a working directory, stdin from /dev/null, stdout and stderr read through
// pipes (the last `max_output_bytes` of each kept, complete lines handed to
// a callback as they arrive), a wall-clock timeout, and a stop request
// (cancel / drain). Past the timeout, or when stopped, the whole process
// group gets SIGTERM, then SIGKILL after the grace period. Started with
// posix_spawn (safe in a multi-threaded server) in a new process group.
// Stateless; Run may be called from many threads at once (each call owns its
// child).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::training {

struct ProcessSpec {
  std::vector<std::string> argv;           // argv[0]: absolute path or a name on env PATH
  std::map<std::string, std::string> env;  // the whole environment of the child
  std::string work_dir;                    // "" = the service's
  std::chrono::milliseconds timeout{3600 * 1000};
  std::chrono::milliseconds kill_grace{10 * 1000};  // SIGTERM -> SIGKILL
  std::size_t max_output_bytes = 10 << 20;          // per stream
};

struct ProcessOutcome {
  int exit_code = -1;      // set when the program exited by itself
  int term_signal = 0;     // set when a signal ended it
  bool timed_out = false;  // ended by us because of the timeout
  bool stopped = false;    // ended by us because `should_stop` said so
  bool killed = false;     // SIGKILL was needed after the grace period
  std::string stdout_tail; // the last max_output_bytes of stdout
  std::string stderr_tail;
  uint64_t stdout_bytes = 0;  // total bytes written (kept or not)
  uint64_t stderr_bytes = 0;
  std::chrono::milliseconds elapsed{0};
};

// One line of output ("stdout" or "stderr", text without the newline, cut
// at 4096 bytes).
using OutputLineFn = std::function<void(const std::string& stream, const std::string& line)>;

class ProcessRunner {
 public:
  // NotFound: argv[0] is not found / not executable; InvalidArgument: empty
  // argv; Internal: pipes or spawn failed otherwise. Any way the program
  // ends (exit, signal, timeout, stop) is an OK outcome. `should_stop` (may
  // be null) is polled about every 100 ms; `on_line` (may be null) is called
  // on this thread.
  static absl::StatusOr<ProcessOutcome> Run(const ProcessSpec& spec,
                                            const std::function<bool()>& should_stop,
                                            const OutputLineFn& on_line);
};

// A bounded buffer keeping the last `max` bytes appended. Not thread-safe.
class TailBuffer {
 public:
  explicit TailBuffer(std::size_t max) : max_(max) {}
  void Append(const char* data, std::size_t n);
  std::string Take() const;
  uint64_t total() const { return total_; }

 private:
  std::size_t max_;
  std::string data_;
  uint64_t total_ = 0;
};

}  // namespace mlops::training
