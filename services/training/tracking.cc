// The Tracking class (tracking.h); validation and tokens are in
// tracking_validation.cc.
#include "services/training/tracking.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"

namespace mlops::training {
namespace {

int64_t SystemNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Tracking::Tracking(TrackingStore* store, Clock clock)
    : store_(store), clock_(clock ? std::move(clock) : Clock(&SystemNowMicros)) {
  std::random_device rd;
  rng_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(clock_());
}

std::string Tracking::NewRunId() {
  uint64_t z;
  {
    absl::MutexLock lock(&mu_);
    rng_state_ += 0x9e3779b97f4a7c15ULL;  // splitmix64
    z = rng_state_;
  }
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return absl::StrFormat("run-%016x", z);
}

absl::StatusOr<Experiment> Tracking::CreateExperiment(Experiment e, const std::string& principal) {
  MLOPS_RETURN_IF_ERROR(ValidateName("name", e.name));
  if (e.description.size() > kMaxDescriptionBytes) {
    return absl::InvalidArgumentError("description: above 4096 bytes");
  }
  MLOPS_RETURN_IF_ERROR(ValidateTags(e.tags));
  e.principal = principal;
  e.created_at_micros = clock_();
  e.run_count = 0;
  absl::Status s = store_->CreateExperiment(e);
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(absl::StrCat("experiment \"", e.name, "\" already exists"));
  }
  MLOPS_RETURN_IF_ERROR(s);
  return e;
}

absl::StatusOr<Experiment> Tracking::GetExperiment(const std::string& name) {
  MLOPS_RETURN_IF_ERROR(ValidateName("name", name));
  return store_->GetExperiment(name);
}

absl::StatusOr<ExperimentPage> Tracking::ListExperiments(const std::string& prefix,
                                                         const std::string& page_token,
                                                         int page_size) {
  if (!prefix.empty()) {
    // A prefix of a valid name: check it as a name (it may end in '_').
    MLOPS_RETURN_IF_ERROR(ValidateName("name_prefix", prefix));
  }
  std::string after;
  if (!page_token.empty()) {
    MLOPS_ASSIGN_OR_RETURN(after, DecodeNameToken(page_token));
  }
  int limit = ClampPageSize(page_size, 100, 1000);
  MLOPS_ASSIGN_OR_RETURN(std::vector<Experiment> list,
                         store_->ListExperiments(prefix, after, limit + 1));
  ExperimentPage page;
  if (static_cast<int>(list.size()) > limit) {
    list.resize(limit);
    page.next_page_token = EncodeNameToken(list.back().name);
  }
  page.experiments = std::move(list);
  return page;
}

absl::StatusOr<Run> Tracking::StartRun(StartRunInput in, const std::string& principal) {
  MLOPS_RETURN_IF_ERROR(ValidateRunInputs(in.inputs));
  if (in.start_time_micros < 0) return absl::InvalidArgumentError("start_time_micros: negative");
  return CreateRunning(std::move(in), principal, "", 0);
}

absl::StatusOr<Run> Tracking::StartTrialRun(StartRunInput in, const std::string& principal,
                                            const std::string& job_id, int trial_index) {
  in.start_time_micros = 0;
  return CreateRunning(std::move(in), principal, job_id, trial_index);
}

absl::StatusOr<Run> Tracking::CreateRunning(StartRunInput in, const std::string& principal,
                                            const std::string& job_id, int trial_index) {
  if (in.experiment.empty()) in.experiment = kDefaultExperiment;
  MLOPS_RETURN_IF_ERROR(ValidateName("experiment", in.experiment));
  if (in.name.size() > kMaxRunNameBytes) return absl::InvalidArgumentError("name: above 256 bytes");
  MLOPS_RETURN_IF_ERROR(ValidateParams(in.params));
  MLOPS_RETURN_IF_ERROR(ValidateTags(in.tags));
  Run run;
  run.id = NewRunId();
  run.experiment = in.experiment;
  run.name = std::move(in.name);
  run.status = RunStatus::kRunning;
  run.principal = principal;
  run.created_at_micros = clock_();
  run.start_time_micros = in.start_time_micros != 0 ? in.start_time_micros : run.created_at_micros;
  run.params = std::move(in.params);
  run.tags = std::move(in.tags);
  run.inputs = std::move(in.inputs);
  run.job_id = job_id;
  run.trial_index = trial_index;
  MLOPS_RETURN_IF_ERROR(store_->CreateRun(run));
  return run;
}

absl::StatusOr<Run> Tracking::EndTrialRun(const std::string& run_id, RunStatus status,
                                          const std::string& reason) {
  const int64_t now = clock_();
  const std::string cut = reason.substr(0, kMaxReasonBytes);
  return store_->TransitionRun(run_id, [&](const RunHead& head) -> absl::StatusOr<std::optional<RunEnd>> {
    if (IsTerminal(head.status)) return std::optional<RunEnd>();
    return std::optional<RunEnd>(RunEnd{status, std::max(now, head.start_time_micros), cut});
  });
}

absl::StatusOr<Run> Tracking::GetRun(const std::string& run_id) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  return store_->GetRun(run_id);
}

absl::StatusOr<int64_t> Tracking::LogMetrics(const std::string& run_id, int message,
                                             std::vector<MetricPoint> points) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (points.size() > kMaxPointsPerMessage) {
    return absl::InvalidArgumentError(absl::StrCat("message ", message, ": ", points.size(),
                                                   " points, at most 10000 allowed"));
  }
  int64_t now = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    MLOPS_RETURN_IF_ERROR(ValidateMetricPoint(message, static_cast<int>(i), points[i]));
    if (points[i].timestamp_micros == 0) {
      if (now == 0) now = clock_();
      points[i].timestamp_micros = now;
    }
  }
  if (points.empty()) return 0;
  MLOPS_RETURN_IF_ERROR(store_->AppendMetrics(run_id, points));
  return static_cast<int64_t>(points.size());
}

absl::Status Tracking::LogParams(const std::string& run_id,
                                 const std::map<std::string, std::string>& params) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  MLOPS_RETURN_IF_ERROR(ValidateParams(params));
  return store_->LogParams(run_id, params, kMaxParamsPerRun);
}

absl::Status Tracking::SetTags(const std::string& run_id,
                               const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& remove) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  MLOPS_RETURN_IF_ERROR(ValidateTags(set));
  for (const std::string& k : remove) MLOPS_RETURN_IF_ERROR(ValidateKey("remove_keys", k));
  return store_->SetTags(run_id, set, remove, kMaxTagsPerRun);
}

absl::StatusOr<Run> Tracking::EndRun(const std::string& run_id, RunStatus status,
                                     int64_t end_time_micros, const std::string& reason,
                                     bool* changed) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (end_time_micros < 0) return absl::InvalidArgumentError("end_time_micros: negative");
  int64_t end = end_time_micros != 0 ? end_time_micros : clock_();
  bool did_change = false;
  absl::StatusOr<Run> run = store_->TransitionRun(run_id, [&](const RunHead& head) {
    absl::StatusOr<std::optional<RunEnd>> d = DecideEnd(head, status, end, reason);
    did_change = d.ok() && d->has_value();
    return d;
  });
  if (changed) *changed = run.ok() && did_change;
  return run;
}

absl::StatusOr<Run> Tracking::CancelRun(const std::string& run_id, const std::string& reason,
                                        bool* changed) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  int64_t now = clock_();
  bool did_change = false;
  absl::StatusOr<Run> run = store_->TransitionRun(run_id, [&](const RunHead& head) {
    absl::StatusOr<std::optional<RunEnd>> d = DecideCancel(head, now, reason);
    did_change = d.ok() && d->has_value();
    return d;
  });
  if (changed) *changed = run.ok() && did_change;
  return run;
}

absl::StatusOr<RunListPage> Tracking::ListRuns(const RunFilter& filter,
                                               const std::string& page_token, int page_size) {
  for (const std::string& e : filter.experiments) {
    MLOPS_RETURN_IF_ERROR(ValidateName("experiments", e));
  }
  for (const auto& [k, v] : filter.params) MLOPS_RETURN_IF_ERROR(ValidateKey("params", k));
  for (const auto& [k, v] : filter.tags) MLOPS_RETURN_IF_ERROR(ValidateKey("tags", k));
  for (const MetricFilter& m : filter.metrics) {
    MLOPS_RETURN_IF_ERROR(ValidateKey("metrics", m.key));
    if (static_cast<int>(m.op) < 0 || static_cast<int>(m.op) > 5) {
      return absl::InvalidArgumentError(absl::StrCat("metrics \"", m.key, "\": unknown comparison"));
    }
    if (m.op == Comparison::kUnspecified) {
      return absl::InvalidArgumentError(
          absl::StrCat("metrics \"", m.key, "\": COMPARISON_UNSPECIFIED"));
    }
    if (!std::isfinite(m.value)) {
      return absl::InvalidArgumentError(absl::StrCat("metrics \"", m.key, "\": value not finite"));
    }
  }
  for (RunStatus s : filter.statuses) {
    if (s == RunStatus::kUnspecified || static_cast<int>(s) > 6) {
      return absl::InvalidArgumentError("statuses: unknown status");
    }
  }
  if (!filter.job_id.empty() && filter.job_id.size() > 64) {
    return absl::InvalidArgumentError("job_id: too long");
  }
  if (!filter.order_metric.empty()) {
    MLOPS_RETURN_IF_ERROR(ValidateKey("order_by.metric", filter.order_metric));
  }
  std::optional<RunCursor> after;
  if (!page_token.empty()) {
    MLOPS_ASSIGN_OR_RETURN(after, DecodeRunToken(filter, page_token));
  }
  int limit = ClampPageSize(page_size, 100, 1000);
  MLOPS_ASSIGN_OR_RETURN(RunPage page, store_->ListRuns(filter, after, limit));
  RunListPage out;
  out.runs = std::move(page.runs);
  if (page.next) out.next_page_token = EncodeRunToken(filter, *page.next);
  return out;
}

absl::StatusOr<MetricHistoryPage> Tracking::GetMetricHistory(const std::string& run_id,
                                                             const std::string& key,
                                                             const std::string& page_token,
                                                             int page_size) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  MLOPS_RETURN_IF_ERROR(ValidateKey("key", key));
  std::optional<HistoryCursor> after;
  if (!page_token.empty()) {
    MLOPS_ASSIGN_OR_RETURN(after, DecodeHistoryToken(run_id, key, page_token));
  }
  int limit = ClampPageSize(page_size, 1000, 10000);
  MLOPS_ASSIGN_OR_RETURN(HistoryPage page, store_->MetricHistory(run_id, key, after, limit));
  MetricHistoryPage out;
  out.points = std::move(page.points);
  if (page.next) out.next_page_token = EncodeHistoryToken(run_id, key, *page.next);
  return out;
}

absl::Status Tracking::CheckUploadHeader(const std::string& run_id, const std::string& path,
                                        const std::string& content_type,
                                        int64_t expected_size) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  MLOPS_RETURN_IF_ERROR(ValidateArtifactPath(path));
  if (content_type.size() > 128) return absl::InvalidArgumentError("content_type: above 128 bytes");
  if (expected_size < 0) return absl::InvalidArgumentError("expected_size_bytes: negative");
  return absl::OkStatus();
}

absl::StatusOr<ArtifactRef> Tracking::PutArtifact(const std::string& run_id,
                                                  const std::string& path,
                                                  const std::string& content_type,
                                                  const std::string& content,
                                                  const std::string& declared_sha256,
                                                  int64_t expected_size) {
  MLOPS_RETURN_IF_ERROR(CheckUploadHeader(run_id, path, content_type, expected_size));
  if (expected_size != 0 && expected_size != static_cast<int64_t>(content.size())) {
    return absl::InvalidArgumentError(absl::StrCat("expected_size_bytes ", expected_size,
                                                   " but ", content.size(), " bytes arrived"));
  }
  ArtifactRef ref;
  ref.run_id = run_id;
  ref.path = path;
  ref.content_type = content_type;
  ref.sha256 = Sha256Hex(content);
  if (!declared_sha256.empty() && declared_sha256 != ref.sha256) {
    return absl::InvalidArgumentError(absl::StrCat("end.sha256 ", declared_sha256,
                                                   " differs from the content's ", ref.sha256));
  }
  ref.size_bytes = static_cast<int64_t>(content.size());
  ref.created_at_micros = clock_();
  return store_->PutArtifact(ref, content);
}

absl::StatusOr<std::vector<ArtifactRef>> Tracking::ListArtifacts(const std::string& run_id) {
  MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
  MLOPS_RETURN_IF_ERROR(store_->GetRun(run_id).status());
  return store_->ListArtifacts(run_id);
}

absl::StatusOr<ArtifactRef> Tracking::FindArtifact(const std::string& sha256,
                                                   const std::string& run_id,
                                                   const std::string& path) {
  if (!sha256.empty()) {
    MLOPS_RETURN_IF_ERROR(ValidateSha256(sha256));
  } else {
    if (run_id.empty() || path.empty()) {
      return absl::InvalidArgumentError("selector: give sha256, or run_id and path");
    }
    MLOPS_RETURN_IF_ERROR(ValidateRunId(run_id));
    MLOPS_RETURN_IF_ERROR(ValidateArtifactPath(path));
  }
  return store_->FindArtifact(sha256, sha256.empty() ? run_id : "", sha256.empty() ? path : "");
}

absl::StatusOr<std::string> Tracking::ReadChunk(const std::string& sha256, int chunk_index) {
  return store_->ReadBlobChunk(sha256, chunk_index);
}

}  // namespace mlops::training
