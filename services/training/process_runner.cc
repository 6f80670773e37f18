#include "services/training/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mlops::training {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxLineBytes = 4096;
// After the program exits, how long its pipes may stay open (a grandchild
// holding them) before the group is killed.
constexpr auto kDrainAfterExit = std::chrono::milliseconds(1000);

bool Executable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// argv[0] as given when it has a slash, else the first match on PATH (the
// child's PATH, or the usual default).
absl::StatusOr<std::string> ResolveProgram(const std::string& name,
                                           const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) {
    if (Executable(name)) return name;
    return absl::NotFoundError(absl::StrCat("argv[0] \"", name, "\": not an executable file"));
  }
  auto it = env.find("PATH");
  const std::string path = it == env.end() ? "/usr/local/bin:/usr/bin:/bin" : it->second;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (Executable(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("argv[0] \"", name, "\": not found on PATH \"", path, "\""));
}

// Splits arriving bytes into lines for the callback.
class LineSplitter {
 public:
  LineSplitter(std::string stream, const OutputLineFn* fn) : stream_(std::move(stream)), fn_(fn) {}
  void Feed(const char* data, std::size_t n) {
    if (*fn_ == nullptr) return;
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        Emit();
      } else if (pending_.size() < kMaxLineBytes) {
        pending_.push_back(data[i]);
      }
    }
  }
  void Flush() {
    if (*fn_ != nullptr && !pending_.empty()) Emit();
  }

 private:
  void Emit() {
    (*fn_)(stream_, pending_);
    pending_.clear();
  }
  std::string stream_;
  const OutputLineFn* fn_;
  std::string pending_;
};

struct Pipe {
  int read = -1;
  int write = -1;
};

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

}  // namespace

void TailBuffer::Append(const char* data, std::size_t n) {
  total_ += n;
  if (n >= max_) {
    data_.assign(data + (n - max_), max_);
    return;
  }
  data_.append(data, n);
  // Trim in large steps so appends stay amortized O(n).
  if (data_.size() > 2 * max_ || (data_.size() > max_ && max_ < 4096)) {
    data_.erase(0, data_.size() - max_);
  }
}

std::string TailBuffer::Take() const {
  if (data_.size() <= max_) return data_;
  return data_.substr(data_.size() - max_);
}

absl::StatusOr<ProcessOutcome> ProcessRunner::Run(const ProcessSpec& spec,
                                                  const std::function<bool()>& should_stop,
                                                  const OutputLineFn& on_line) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("argv: empty");
  absl::StatusOr<std::string> program = ResolveProgram(spec.argv[0], spec.env);
  if (!program.ok()) return program.status();

  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(absl::StrCat(k, "=", v));
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Pipe out, err;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  out = {fds[0], fds[1]};
  if (pipe2(fds, O_CLOEXEC) != 0) {
    CloseFd(&out.read);
    CloseFd(&out.write);
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  err = {fds[0], fds[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write, 1);
  posix_spawn_file_actions_adddup2(&actions, err.write, 2);
  if (!spec.work_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.work_dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A new process group (signalled as a whole), an empty signal mask (the
  // server blocks SIGTERM in its threads) and default dispositions.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program->c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CloseFd(&out.write);
  CloseFd(&err.write);
  if (rc != 0) {
    CloseFd(&out.read);
    CloseFd(&err.read);
    const std::string what = absl::StrCat("starting \"", *program, "\": ", strerror(rc));
    if (rc == ENOENT || rc == EACCES) return absl::NotFoundError(what);
    return absl::InternalError(what);
  }

  ProcessOutcome outcome;
  TailBuffer out_tail(spec.max_output_bytes), err_tail(spec.max_output_bytes);
  LineSplitter out_lines("stdout", &on_line), err_lines("stderr", &on_line);
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + spec.timeout;
  Clock::time_point term_sent{}, exited_at{};
  bool term = false, kill_sent = false, reaped = false;
  char buf[65536];
  // Bounded: the deadline, then the grace period, then SIGKILL end it.
  while (true) {
    const Clock::time_point now = Clock::now();
    if (!reaped) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
        exited_at = now;
        if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
      }
    }
    if (!term && !reaped) {
      const bool late = now >= deadline;
      const bool stop = !late && should_stop && should_stop();
      if (late || stop) {
        outcome.timed_out = late;
        outcome.stopped = stop;
        kill(-pid, SIGTERM);
        term = true;
        term_sent = now;
      }
    }
    if (term && !kill_sent && now - term_sent >= spec.kill_grace) {
      kill(-pid, SIGKILL);
      kill_sent = true;
      outcome.killed = !reaped;
    }
    const bool pipes_open = out.read >= 0 || err.read >= 0;
    if (reaped && (!pipes_open || now - exited_at >= kDrainAfterExit)) break;
    if (!pipes_open) {
      // Nothing to read: wait for the exit in small steps.
      usleep(20 * 1000);
      continue;
    }
    pollfd pfds[2];
    int n = 0;
    for (int fd : {out.read, err.read}) {
      if (fd >= 0) pfds[n++] = {fd, POLLIN, 0};
    }
    const int ready = poll(pfds, static_cast<nfds_t>(n), 100);
    if (ready <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const bool is_out = pfds[i].fd == out.read;
      const ssize_t got = read(pfds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (is_out ? out_tail : err_tail).Append(buf, static_cast<std::size_t>(got));
        (is_out ? out_lines : err_lines).Feed(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(is_out ? &out.read : &err.read);
      }
    }
  }
  // Whatever is left of the group (children that outlived the program).
  kill(-pid, SIGKILL);
  CloseFd(&out.read);
  CloseFd(&err.read);
  out_lines.Flush();
  err_lines.Flush();
  outcome.stdout_tail = out_tail.Take();
  outcome.stderr_tail = err_tail.Take();
  outcome.stdout_bytes = out_tail.total();
  outcome.stderr_bytes = err_tail.total();
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return outcome;
}

}  // namespace mlops::training
