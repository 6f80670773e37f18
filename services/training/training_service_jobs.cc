// TrainingServiceImpl's job RPCs and the two progress streams (WatchJob,
// WatchRun). Thin: authorize, call JobManager / Tracking, convert.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "services/training/proto_convert.h"
#include "services/training/rpc_finish.h"
#include "services/training/training_service.h"

namespace mlops::training {
namespace {

// Watch streams wake at least this often (changes made by other replicas,
// metric points, a client that went away).
constexpr absl::Duration kWatchPoll = absl::Milliseconds(250);

absl::Status NoJobs() {
  return absl::UnimplementedError("training jobs are not enabled on this server");
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

bool TerminalJob(v1::JobState s) {
  return s == v1::JOB_STATE_SUCCEEDED || s == v1::JOB_STATE_FAILED || s == v1::JOB_STATE_CANCELLED;
}

// Sends the run's output lines after *after_id, at most `pages` pages of
// 1000. false: the client went away.
absl::StatusOr<bool> SendRunLog(RunLogStore* logs, const std::string& run_id, int pages, int64_t* after_id,
                                grpc::ServerWriter<v1::RunEvent>* writer) {
  constexpr int kPage = 1000;
  for (int page = 0; page < pages; ++page) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<RunLogLine> lines, logs->Read(run_id, *after_id, kPage));
    for (const RunLogLine& line : lines) {
      v1::RunEvent event;
      event.set_time_micros(line.at_micros);
      event.mutable_log()->set_stream(line.stream);
      event.mutable_log()->set_text(line.text);
      event.mutable_log()->set_run_id(run_id);
      if (!writer->Write(event)) return false;
      *after_id = line.id;
    }
    if (lines.size() < static_cast<std::size_t>(kPage)) break;
  }
  return true;
}

// Sends the job's claim history lines past the first *sent as "system" log
// lines. false: the client went away.
absl::StatusOr<bool> SendClaims(JobManager* jobs, const std::string& job_id, std::size_t* sent,
                                grpc::ServerWriter<v1::JobEvent>* writer) {
  MLOPS_ASSIGN_OR_RETURN(std::vector<std::string> history, jobs->ClaimHistory(job_id));
  for (; *sent < history.size(); ++*sent) {
    v1::JobEvent event;
    event.set_time_micros(NowMicros());
    event.mutable_log()->set_stream("system");
    event.mutable_log()->set_text(history[*sent]);
    if (!writer->Write(event)) return false;
  }
  return true;
}

}  // namespace

void TrainingServiceImpl::AddJobCause(v1::Run* run) const {
  if (run->job_id().empty() || options_.jobs == nullptr) return;
  absl::StatusOr<v1::TrainingJob> job = options_.jobs->Get(run->job_id());
  if (!job.ok()) return;
  *run->mutable_cause() = job->cause();
  for (const common::v1::ResourceRef& ref : job->lineage().inputs()) {
    if (ref.kind() == common::v1::RESOURCE_KIND_PIPELINE_TRIGGER || ref.kind() == common::v1::RESOURCE_KIND_ALERT) {
      *run->mutable_lineage()->add_inputs() = ref;
    }
  }
}

grpc::Status TrainingServiceImpl::SubmitTrainingJob(grpc::ServerContext* ctx,
                                                    const v1::SubmitTrainingJobRequest* req,
                                                    v1::TrainingJob* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return FinishRpc("SubmitTrainingJob", who.status());
  if (options_.jobs == nullptr) return FinishRpc("SubmitTrainingJob", NoJobs());
  v1::TriggerCause cause;
  cause.set_kind(v1::TRIGGER_KIND_MANUAL);
  absl::StatusOr<v1::TrainingJob> job =
      options_.jobs->Submit(req->spec(), req->idempotency_key(), *who, cause, "");
  if (!job.ok()) return FinishRpc("SubmitTrainingJob", job.status());
  *resp = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req,
                                         v1::TrainingJob* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return FinishRpc("GetJob", who.status());
  if (options_.jobs == nullptr) return FinishRpc("GetJob", NoJobs());
  absl::StatusOr<v1::TrainingJob> job = options_.jobs->Get(req->job_id());
  if (!job.ok()) return FinishRpc("GetJob", job.status());
  *resp = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                                           v1::ListJobsResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return FinishRpc("ListJobs", who.status());
  if (options_.jobs == nullptr) return FinishRpc("ListJobs", NoJobs());
  std::vector<JobState> states;
  for (int s : req->states()) states.push_back(static_cast<JobState>(s));
  absl::StatusOr<JobPage> page = options_.jobs->List(req->experiment(), states, req->trigger_name(),
                                                     req->page().page_token(), req->page().page_size());
  if (!page.ok()) return FinishRpc("ListJobs", page.status());
  for (v1::TrainingJob& job : page->jobs) *resp->add_jobs() = std::move(job);
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req,
                                            v1::TrainingJob* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return FinishRpc("CancelJob", who.status());
  if (options_.jobs == nullptr) return FinishRpc("CancelJob", NoJobs());
  absl::StatusOr<v1::TrainingJob> job = options_.jobs->Cancel(req->job_id(), req->reason());
  if (!job.ok()) return FinishRpc("CancelJob", job.status());
  *resp = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                                           grpc::ServerWriter<v1::JobEvent>* writer) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return FinishRpc("WatchJob", who.status());
  if (options_.jobs == nullptr) return FinishRpc("WatchJob", NoJobs());
  uint64_t seen = options_.jobs->change_count();
  absl::StatusOr<v1::TrainingJob> job = options_.jobs->Get(req->job_id());
  if (!job.ok()) return FinishRpc("WatchJob", job.status());
  v1::JobEvent event;
  event.set_time_micros(NowMicros());
  *event.mutable_snapshot() = *job;
  if (!writer->Write(event)) return grpc::Status::CANCELLED;
  v1::JobState state = job->state();
  std::map<int, std::string> sent;  // trial index -> the summary last sent
  for (const v1::TrialSummary& t : job->trials()) sent[t.index()] = t.SerializeAsString();
  std::size_t claims_sent = 0;
  absl::StatusOr<bool> open = SendClaims(options_.jobs, job->id(), &claims_sent, writer);
  if (!open.ok()) return FinishRpc("WatchJob", open.status());
  if (!*open) return grpc::Status::CANCELLED;
  while (!TerminalJob(state)) {
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    if (options_.jobs->draining()) {
      return FinishRpc("WatchJob", absl::UnavailableError("the server is draining; watch again"));
    }
    seen = options_.jobs->WaitForChange(seen, kWatchPoll);
    job = options_.jobs->Get(req->job_id());
    if (!job.ok()) return FinishRpc("WatchJob", job.status());
    open = SendClaims(options_.jobs, job->id(), &claims_sent, writer);
    if (!open.ok()) return FinishRpc("WatchJob", open.status());
    if (!*open) return grpc::Status::CANCELLED;
    for (const v1::TrialSummary& t : job->trials()) {
      std::string bytes = t.SerializeAsString();
      if (sent[t.index()] == bytes) continue;
      sent[t.index()] = std::move(bytes);
      event.Clear();
      event.set_time_micros(NowMicros());
      *event.mutable_trial() = t;
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }
    if (job->state() != state) {
      state = job->state();
      event.Clear();
      event.set_time_micros(NowMicros());
      *event.mutable_snapshot() = *job;
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }
  }
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::WatchRun(grpc::ServerContext* ctx, const v1::WatchRunRequest* req,
                                           grpc::ServerWriter<v1::RunEvent>* writer) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return FinishRpc("WatchRun", who.status());
  absl::StatusOr<Run> run = tracking_->GetRun(req->run_id());
  if (!run.ok()) return FinishRpc("WatchRun", run.status());
  v1::RunEvent event;
  event.set_time_micros(NowMicros());
  ToProto(*run, event.mutable_snapshot());
  if (!writer->Write(event)) return grpc::Status::CANCELLED;
  std::map<std::string, int64_t> sent;  // metric key -> points sent (or skipped)
  if (!req->include_metric_history()) {
    for (const MetricSummary& m : run->metrics) sent[m.key] = m.count;
  }
  RunStatus status = run->status;
  uint64_t seen = options_.jobs ? options_.jobs->change_count() : 0;
  int64_t log_after = 0;  // the last output line sent
  while (true) {
    for (const MetricSummary& m : run->metrics) {
      if (m.count <= sent[m.key]) continue;
      // New points: page through the history past those already sent.
      int64_t index = 0;
      std::string token;
      v1::RunEvent points;
      points.mutable_metrics()->set_run_id(run->id);
      for (int page = 0; page <= m.count / 10000 + 1; ++page) {
        absl::StatusOr<MetricHistoryPage> h = tracking_->GetMetricHistory(run->id, m.key, token, 10000);
        if (!h.ok()) return FinishRpc("WatchRun", h.status());
        for (const MetricPoint& p : h->points) {
          if (index++ >= sent[m.key]) ToProto(p, points.mutable_metrics()->add_points());
        }
        token = h->next_page_token;
        if (token.empty()) break;
      }
      sent[m.key] = index;
      points.set_time_micros(NowMicros());
      if (points.metrics().points_size() > 0 && !writer->Write(points)) return grpc::Status::CANCELLED;
    }
    if (options_.run_logs != nullptr) {
      // Lines are stored before the run ends: at the end, send them all.
      absl::StatusOr<bool> open =
          SendRunLog(options_.run_logs, run->id, IsTerminal(run->status) ? 1000 : 10, &log_after, writer);
      if (!open.ok()) return FinishRpc("WatchRun", open.status());
      if (!*open) return grpc::Status::CANCELLED;
    }
    if (run->status != status) {
      status = run->status;
      event.Clear();
      event.set_time_micros(NowMicros());
      ToProto(*run, event.mutable_snapshot());
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
    }
    if (IsTerminal(status)) return grpc::Status::OK;
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    if (options_.jobs != nullptr && options_.jobs->draining()) {
      return FinishRpc("WatchRun", absl::UnavailableError("the server is draining; watch again"));
    }
    if (options_.jobs != nullptr) {
      seen = options_.jobs->WaitForChange(seen, kWatchPoll);
    } else {
      absl::SleepFor(kWatchPoll);
    }
    run = tracking_->GetRun(req->run_id());
    if (!run.ok()) return FinishRpc("WatchRun", run.status());
  }
}

}  // namespace mlops::training
