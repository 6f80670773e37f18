// `mlopsctl training submit|watch|runs|compare`: training jobs from a spec
// file, their trials live, and runs side by side. (`training jobs` lives in
// serving_commands.cc.)
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/file_util.h"
#include "common/status/grpc_status.h"
#include "mlops/training/v1/training.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/table.h"
#include "services/cli/training_format.h"

namespace mlops::cli {
namespace {

namespace tv1 = ::mlops::training::v1;

constexpr int kMaxWatchReconnects = 5;

std::unique_ptr<tv1::TrainingService::Stub> Stub(CliContext& ctx) {
  return tv1::TrainingService::NewStub(ctx.Channel("training"));
}

// Prints one event of a watch. The service repeats unchanged trials, so a
// trial is printed only when its line (without the time) changed.
void PrintJobEventLine(const tv1::JobEvent& event, std::map<int, std::string>* trial_lines) {
  const std::string line = FormatJobEvent(event);
  if (event.has_trial()) {
    std::string& previous = (*trial_lines)[event.trial().index()];
    const std::string body = line.substr(line.find(' '));
    if (body == previous) return;
    previous = body;
  }
  std::cout << line << std::endl;
}

// Follows a job until it ends: 0 if it succeeded, 1 if it failed or was
// cancelled, another exit code if the service could not be reached. The
// stream ends after the terminal snapshot; on UNAVAILABLE (a draining
// server) it watches again, at most kMaxWatchReconnects times.
int WatchUntilDone(CliContext& ctx, const std::string& job_id, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  tv1::TrainingJob last;
  grpc::Status status;
  std::map<int, std::string> trial_lines;  // trial index -> last line printed, without its time
  for (int attempt = 0; attempt <= kMaxWatchReconnects; ++attempt) {
    tv1::WatchJobRequest request;
    request.set_job_id(job_id);
    auto context = ctx.NewContext(std::chrono::milliseconds(
        std::max<int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()))));
    auto reader = Stub(ctx)->WatchJob(context.get(), request);
    tv1::JobEvent event;
    while (reader->Read(&event)) {
      if (event.has_snapshot()) last = event.snapshot();
      if (ctx.json()) {
        PrintJson(event);
        continue;
      }
      // A job that ended before the watch began (or while it reconnected)
      // is sent as its terminal snapshot alone: its trials come from it.
      if (event.has_snapshot() && IsTerminal(event.snapshot().state())) {
        for (const tv1::TrialSummary& trial : event.snapshot().trials()) {
          tv1::JobEvent trial_event;
          trial_event.set_time_micros(trial.finished_at_micros() > 0 ? trial.finished_at_micros()
                                                                     : event.time_micros());
          *trial_event.mutable_trial() = trial;
          PrintJobEventLine(trial_event, &trial_lines);
        }
      }
      PrintJobEventLine(event, &trial_lines);
    }
    status = reader->Finish();
    if (IsTerminal(last.state())) break;
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Seconds(1));
  }
  if (!IsTerminal(last.state())) {
    if (!status.ok()) return ReportError(FromGrpcStatus(status), "training watch " + job_id);
    return ReportError(absl::DeadlineExceededError("the job has not ended; watch again with "
                                                   "`mlopsctl training watch " + job_id + "`"),
                       "training watch");
  }
  if (last.state() == tv1::JOB_STATE_SUCCEEDED) return kExitOk;
  std::cerr << "job " << job_id << " " << EnumText(tv1::JobState_Name(last.state()), "JOB_STATE_")
            << ": " << OrDash(last.failure_reason())
            << "\nhint: `mlopsctl training runs --job " << job_id
            << "` lists its trials and their failure reasons\n";
  return kExitFailed;
}

// Creates the spec's experiment if it does not exist yet (as a first submit
// into a new experiment expects); says so on stderr.
absl::Status EnsureExperiment(CliContext& ctx, const std::string& name) {
  tv1::GetExperimentRequest get;
  get.set_name(name.empty() ? "default" : name);
  tv1::Experiment experiment;
  auto context = ctx.NewContext();
  grpc::Status status = Stub(ctx)->GetExperiment(context.get(), get, &experiment);
  if (status.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpcStatus(status);
  tv1::CreateExperimentRequest create;
  create.set_name(get.name());
  auto create_context = ctx.NewContext();
  status = Stub(ctx)->CreateExperiment(create_context.get(), create, &experiment);
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return absl::OkStatus();  // a race: fine
  if (status.ok()) std::cerr << "created experiment \"" << get.name() << "\"\n";
  return FromGrpcStatus(status);
}

int Submit(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"key", "experiment", "watch", "timeout"},
                               {"key", "experiment", "timeout"});
  if (!args.ok()) return UsageError(args.status(), "training submit");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one job spec file (JSON)"), "training submit");
  }
  auto timeout = DurationOption(*args, "timeout", absl::Hours(6));
  if (!timeout.ok()) return UsageError(timeout.status(), "training submit");
  auto text = ReadFileToString(args->positional[0]);
  if (!text.ok()) return UsageError(text.status(), "training submit");
  auto request = ParseJobSpecFile(*text, args->positional[0]);
  if (!request.ok()) return UsageError(request.status(), "training submit");
  if (args->options.count("key")) request->set_idempotency_key(args->options.at("key"));
  if (args->options.count("experiment")) request->mutable_spec()->set_experiment(args->options.at("experiment"));
  if (absl::Status s = EnsureExperiment(ctx, request->spec().experiment()); !s.ok()) {
    return ReportError(s, "training submit");
  }
  tv1::TrainingJob job;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->SubmitTrainingJob(context.get(), *request, &job);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "training submit");
  const bool watch = args->options.count("watch") > 0;
  if (ctx.json()) {
    PrintJson(job);
  } else {
    const int trials = request->spec().has_search() ? request->spec().search().max_trials() : 1;
    std::cout << "submitted " << job.id() << " (experiment "
              << (job.spec().experiment().empty() ? "default" : job.spec().experiment()) << ", "
              << (request->spec().has_search() ? absl::StrCat("search of ", trials > 0 ? absl::StrCat(trials) : "all",
                                                              " trials")
                                               : "1 trial")
              << ")\n";
    if (!watch) std::cout << "follow it: mlopsctl training watch " << job.id() << "\n";
  }
  return watch ? WatchUntilDone(ctx, job.id(), *timeout) : kExitOk;
}

int Watch(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"timeout"}, {"timeout"});
  if (!args.ok()) return UsageError(args.status(), "training watch");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give JOB (see `mlopsctl training jobs`)"), "training watch");
  }
  auto timeout = DurationOption(*args, "timeout", absl::Hours(6));
  if (!timeout.ok()) return UsageError(timeout.status(), "training watch");
  return WatchUntilDone(ctx, args->positional[0], *timeout);
}

std::string TopMetrics(const tv1::Run& run) {
  std::vector<std::string> parts;
  for (const char* prefix : {"test_", "validation_"}) {
    for (const tv1::MetricSummary& m : run.metrics()) {
      if (m.key().rfind(prefix, 0) == 0 && parts.size() < 3) {
        parts.push_back(absl::StrCat(m.key(), "=", FormatNumber(m.value())));
      }
    }
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, " ");
}

int Runs(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"experiment", "job", "order", "ascending", "limit"},
                               {"experiment", "job", "order", "limit"});
  if (!args.ok()) return UsageError(args.status(), "training runs");
  auto limit = PositiveIntOption(*args, "limit", 100);
  if (!limit.ok()) return UsageError(limit.status(), "training runs");
  if (!args->positional.empty()) {
    return UsageError(absl::InvalidArgumentError("use --experiment NAME (or --job JOB)"), "training runs");
  }
  tv1::ListRunsRequest request;
  if (args->options.count("experiment")) request.add_experiments(args->options.at("experiment"));
  request.set_job_id(OptionOr(*args, "job", ""));
  request.mutable_order_by()->set_metric(OptionOr(*args, "order", ""));
  request.mutable_order_by()->set_ascending(args->options.count("ascending") > 0);
  request.mutable_page()->set_page_size(static_cast<int32_t>(std::min<int64_t>(*limit, 1000)));
  tv1::ListRunsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListRuns(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "training runs");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"RUN", "NAME", "STATUS", "JOB", "STARTED", "SECONDS", "METRICS"});
  for (const tv1::Run& r : response.runs()) {
    const int64_t end = r.end_time_micros() > 0 ? r.end_time_micros() : absl::ToUnixMicros(absl::Now());
    table.AddRow({r.id(), OrDash(r.name()), EnumText(tv1::RunStatus_Name(r.status()), "RUN_STATUS_"),
                  r.job_id().empty() ? "-" : absl::StrCat(r.job_id(), "#", r.trial_index()),
                  FormatMicros(r.start_time_micros()),
                  r.start_time_micros() > 0 ? FormatNumber((end - r.start_time_micros()) / 1e6) : "-",
                  TopMetrics(r)});
  }
  table.Print(std::cout);
  if (!response.next_page_token().empty()) std::cout << "(more; raise --limit or narrow the filter)\n";
  if (response.runs().empty()) std::cout << "(no runs; check the experiment name with `mlopsctl training jobs`)\n";
  return kExitOk;
}

int Compare(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "training compare");
  if (args->positional.size() < 2) {
    return UsageError(absl::InvalidArgumentError("give two or more run ids (see `mlopsctl training runs`)"),
                      "training compare");
  }
  std::vector<tv1::Run> runs;
  for (const std::string& id : args->positional) {
    tv1::GetRunRequest request;
    request.set_run_id(id);
    tv1::Run run;
    auto context = ctx.NewContext();
    const grpc::Status status = Stub(ctx)->GetRun(context.get(), request, &run);
    if (!status.ok()) return ReportError(FromGrpcStatus(status), "training compare " + id);
    runs.push_back(std::move(run));
  }
  if (ctx.json()) {
    tv1::ListRunsResponse all;
    for (tv1::Run& run : runs) *all.add_runs() = std::move(run);
    PrintJson(all);
    return kExitOk;
  }
  CompareRunsTable(runs).Print(std::cout);
  return kExitOk;
}

}  // namespace

void AddTrainingCommands(std::vector<Command>& commands) {
  commands.push_back({"training submit", "training submit FILE.json [--watch] [--key K]",
                      "submit a training job (params or a search space) from a JSON spec", Submit});
  commands.push_back({"training watch", "training watch JOB [--timeout 6h]",
                      "follow a job's trials live; exit 0 if it succeeds, 1 if not", Watch});
  commands.push_back({"training runs", "training runs --experiment NAME [--job J] [--order METRIC]",
                      "runs with status, duration and test metrics", Runs});
  commands.push_back({"training compare", "training compare RUN RUN...",
                      "params (differences marked *) and metrics of runs side by side", Compare});
}

}  // namespace mlops::cli
