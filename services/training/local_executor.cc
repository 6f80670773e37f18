#include "services/training/local_executor.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "services/training/process_runner.h"

namespace mlops::training {

std::string DescribeFailure(const CommandOutcome& o, std::chrono::milliseconds timeout) {
  std::string out;
  if (o.stopped) {
    out = "cancelled";
  } else if (o.timed_out) {
    const auto ms = timeout.count();
    out = ms % 1000 == 0 ? absl::StrCat("timeout: timed out after ", ms / 1000, "s")
                         : absl::StrCat("timeout: timed out after ", ms, "ms");
  } else if (o.exited && o.exit_code == 0) {
    return "";
  } else if (o.exited) {
    out = absl::StrCat("exit code ", o.exit_code);
  } else if (o.term_signal != 0) {
    out = absl::StrCat("killed by signal ", o.term_signal);
  } else {
    out = "ended without an exit code";
  }
  if (!o.detail.empty()) absl::StrAppend(&out, " (", o.detail, ")");
  return out;
}

absl::StatusOr<CommandOutcome> LocalExecutor::Execute(const CommandInvocation& inv,
                                                      const std::function<bool()>& should_stop,
                                                      const CommandLineFn& on_line) {
  ProcessSpec spec;
  spec.argv = inv.argv;
  for (const char* name : {"PATH", "LANG", "LC_ALL", "TZ"}) {
    if (const char* v = std::getenv(name)) spec.env[name] = v;
  }
  if (!spec.env.count("PATH")) spec.env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  spec.env["HOME"] = inv.work_dir;
  for (const auto& [k, v] : inv.env) spec.env[k] = v;
  spec.work_dir = inv.work_dir;
  spec.timeout = inv.timeout;
  spec.kill_grace = options_.kill_grace;
  spec.max_output_bytes = options_.max_output_bytes;
  absl::StatusOr<ProcessOutcome> p = ProcessRunner::Run(spec, should_stop, on_line);
  if (!p.ok()) return p.status();
  CommandOutcome out;
  out.exited = p->exit_code >= 0 && !p->timed_out && !p->stopped;
  out.exit_code = p->exit_code;
  out.term_signal = p->term_signal;
  out.timed_out = p->timed_out;
  out.stopped = p->stopped;
  if (p->killed) out.detail = "SIGKILL after the grace period";
  out.stdout_text = std::move(p->stdout_tail);
  out.stderr_text = std::move(p->stderr_tail);
  return out;
}

}  // namespace mlops::training
