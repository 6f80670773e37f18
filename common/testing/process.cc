#include "common/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace mlops {
namespace {

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The parent's environment with `overrides` applied, as "KEY=VALUE" strings.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string key = entry.substr(0, entry.find('='));
    if (overrides.count(key) == 0) out.push_back(entry);
  }
  for (const auto& [key, value] : overrides) out.push_back(absl::StrCat(key, "=", value));
  return out;
}

absl::StatusOr<std::string> MakeLogFile(const std::string& path) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp", "/",
                                     path.substr(path.rfind('/') + 1), ".XXXXXX");
  const int fd = mkstemp(pattern.data());
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create log file ", pattern, ": ", std::strerror(errno)));
  }
  close(fd);
  return pattern;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& path, const std::vector<std::string>& args,
    const std::map<std::string, std::string>& env, std::string log_path) {
  if (log_path.empty()) {
    absl::StatusOr<std::string> made = MakeLogFile(path);
    if (!made.ok()) return made.status();
    log_path = *made;
  }
  // Everything the child needs is prepared here: between fork and execve only
  // async-signal-safe calls are allowed.
  std::vector<std::string> argv_strings{path};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = MergedEnvironment(env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open log file ", log_path, ": ", std::strerror(errno)));
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int exec_pipe[2];  // the child reports execve's errno here; EOF = success
  if (null_fd < 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::FailedPreconditionError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int signo : {SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP}) signal(signo, SIG_DFL);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(path.c_str(), argv.data(), envp.data());
    const int err = errno;
    (void)!write(exec_pipe[1], &err, sizeof(err));
    _exit(127);
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  close(exec_pipe[1]);
  if (pid < 0) {
    close(exec_pipe[0]);
    return absl::FailedPreconditionError(absl::StrCat("fork: ", std::strerror(fork_errno)));
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(exec_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    waitpid(pid, nullptr, 0);
    const std::string message =
        absl::StrCat("cannot execute ", path, ": ", std::strerror(child_errno));
    return child_errno == ENOENT ? absl::NotFoundError(message)
                                 : absl::FailedPreconditionError(message);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, std::move(log_path)));
}

ChildProcess::~ChildProcess() { Kill(); }

std::string ChildProcess::ReadLog(size_t max_bytes) const {
  std::ifstream in(log_path_);
  std::stringstream content;
  content << in.rdbuf();
  std::string all = content.str();
  return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

bool ChildProcess::Reap() {
  if (reaped_) return true;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_code_ = DecodeWaitStatus(status);
  } else if (r < 0 && errno == ECHILD) {
    reaped_ = true;  // reaped elsewhere; the exit code is unknown
  }
  return reaped_;
}

bool ChildProcess::Running() { return !Reap(); }

void ChildProcess::Signal(int signo) {
  if (!Reap()) kill(pid_, signo);
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!Reap()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "process ", pid_, " still running after ", absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code_;
}

absl::StatusOr<int> ChildProcess::Terminate(absl::Duration grace) {
  Signal(SIGTERM);
  absl::StatusOr<int> code = Wait(grace);
  if (code.ok()) return code;
  Kill();
  return absl::DeadlineExceededError(absl::StrCat("process ", pid_, " ignored SIGTERM for ",
                                                  absl::FormatDuration(grace),
                                                  "; killed with SIGKILL"));
}

void ChildProcess::Kill() {
  if (Reap()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  reaped_ = true;
  exit_code_ = r == pid_ ? DecodeWaitStatus(status) : -1;
}

absl::StatusOr<ServicePorts> WaitForPortsFile(const std::string& path, absl::Duration timeout,
                                              ChildProcess* child) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::NotFoundError(absl::StrCat("no ports file ", path));
  while (absl::Now() < deadline) {
    absl::StatusOr<ServicePorts> ports = ReadPortsFile(path);
    if (ports.ok()) return ports;
    last = ports.status();
    if (child != nullptr && !child->Running()) {
      absl::StatusOr<int> code = child->Wait(absl::ZeroDuration());
      return absl::FailedPreconditionError(absl::StrCat(
          "process ", child->pid(), " exited with ", code.ok() ? *code : -1,
          " before writing ", path, "; log tail:\n", child->ReadLog(4096)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("no valid ports file after ", absl::FormatDuration(timeout), ": ",
                   last.ToString()));
}

}  // namespace mlops
