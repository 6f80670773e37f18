#include "services/cli/training_format.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/cli/output.h"

namespace mlops::cli {

namespace tv1 = ::mlops::training::v1;

absl::StatusOr<tv1::SubmitTrainingJobRequest> ParseJobSpecFile(const std::string& text,
                                                               const std::string& source) {
  return ParseRequestOrSpecJson<tv1::SubmitTrainingJobRequest>(
      text, source,
      "a job spec (a TrainingJobSpec, or a SubmitTrainingJobRequest {\"spec\": ...}, in protobuf JSON)");
}

bool IsTerminal(tv1::JobState state) {
  return state == tv1::JOB_STATE_SUCCEEDED || state == tv1::JOB_STATE_FAILED ||
         state == tv1::JOB_STATE_CANCELLED;
}

namespace {

std::string Clock(int64_t micros) {
  if (micros == 0) return "--:--:--";
  return absl::FormatTime("%H:%M:%S", absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

std::string Params(const google::protobuf::Map<std::string, std::string>& params) {
  std::map<std::string, std::string> sorted(params.begin(), params.end());
  std::vector<std::string> parts;
  for (const auto& [key, value] : sorted) parts.push_back(absl::StrCat(key, "=", value));
  return absl::StrJoin(parts, " ");
}

std::string JobLine(const tv1::TrainingJob& job) {
  std::string line = absl::StrCat("job ", job.id(), " ", EnumText(tv1::JobState_Name(job.state()), "JOB_STATE_"),
                                  ": ", job.trial_counts().succeeded(), "/", job.trials_size(),
                                  " trials succeeded");
  if (job.trial_counts().failed() > 0) absl::StrAppend(&line, ", ", job.trial_counts().failed(), " failed");
  if (job.has_best_objective_value()) {
    absl::StrAppend(&line, ", best ", FormatNumber(job.best_objective_value()), " (", job.best_run_id(), ")");
  }
  if (job.registration().version() > 0) {
    absl::StrAppend(&line, ", registered ", job.registration().model_name(), "@", job.registration().version());
  }
  if (!job.failure_reason().empty()) absl::StrAppend(&line, ", reason: ", job.failure_reason());
  return line;
}

}  // namespace

std::string FormatJobEvent(const tv1::JobEvent& event) {
  const std::string at = Clock(event.time_micros());
  switch (event.event_case()) {
    case tv1::JobEvent::kSnapshot:
      return absl::StrCat(at, " ", JobLine(event.snapshot()));
    case tv1::JobEvent::kTrial: {
      const tv1::TrialSummary& t = event.trial();
      std::string line = absl::StrCat(at, " trial ", t.index(), " ", OrDash(t.run_id()), " ",
                                       EnumText(tv1::RunStatus_Name(t.status()), "RUN_STATUS_"));
      if (t.has_objective_value()) absl::StrAppend(&line, " objective=", FormatNumber(t.objective_value()));
      if (!t.params().empty()) absl::StrAppend(&line, " (", Params(t.params()), ")");
      if (!t.failure_reason().empty()) absl::StrAppend(&line, ": ", t.failure_reason());
      return line;
    }
    case tv1::JobEvent::kMetrics: {
      // The latest point of each key in the batch.
      std::map<std::string, const tv1::MetricPoint*> latest;
      int64_t step = 0;
      for (const tv1::MetricPoint& p : event.metrics().points()) {
        latest[p.key()] = &p;
        step = std::max(step, p.step());
      }
      std::vector<std::string> parts;
      for (const auto& [key, p] : latest) parts.push_back(absl::StrCat(key, "=", FormatNumber(p->value())));
      return absl::StrCat(at, " trial ", event.metrics().run_id(), " step ", step, ": ",
                          absl::StrJoin(parts, " "));
    }
    case tv1::JobEvent::kLog:
      return absl::StrCat(at, " [", event.log().stream(),
                          event.log().run_id().empty() ? "" : " " + event.log().run_id(), "] ",
                          event.log().text());
    default:
      return absl::StrCat(at, " (unknown event)");
  }
}

Table CompareRunsTable(const std::vector<tv1::Run>& runs) {
  std::vector<std::string> header = {""};
  std::set<std::string> param_keys, metric_keys;
  for (const tv1::Run& run : runs) {
    header.push_back(run.id());
    for (const auto& [key, value] : run.params()) param_keys.insert(key);
    for (const tv1::MetricSummary& m : run.metrics()) metric_keys.insert(m.key());
  }
  Table table(header);
  std::vector<std::string> status = {"status"};
  for (const tv1::Run& run : runs) status.push_back(EnumText(tv1::RunStatus_Name(run.status()), "RUN_STATUS_"));
  table.AddRow(status);
  for (const std::string& key : param_keys) {
    std::vector<std::string> row = {""};
    std::set<std::string> distinct;
    for (const tv1::Run& run : runs) {
      auto it = run.params().find(key);
      row.push_back(it == run.params().end() ? "-" : it->second);
      distinct.insert(row.back());
    }
    row[0] = absl::StrCat(distinct.size() > 1 ? "* " : "", "param ", key);
    table.AddRow(row);
  }
  for (const std::string& key : metric_keys) {
    std::vector<std::string> row = {absl::StrCat("metric ", key)};
    for (const tv1::Run& run : runs) {
      std::string cell = "-";
      for (const tv1::MetricSummary& m : run.metrics()) {
        if (m.key() == key) cell = FormatNumber(m.value());
      }
      row.push_back(cell);
    }
    table.AddRow(row);
  }
  return table;
}

}  // namespace mlops::cli
