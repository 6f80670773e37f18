#pragma once
// TrainingServiceImpl: the gRPC adapter of the training service's tracking
// RPCs (experiments, runs, metrics, params, tags, artifacts). Each handler
// authorizes, converts the request, calls Tracking, converts the answer.
// The job RPCs (SubmitTrainingJob, GetJob, ListJobs, WatchJob, CancelJob)
// and WatchRun are in training_service_jobs.cc, the trigger RPCs in
// training_service_triggers.cc; without a JobManager / TriggerManager in
// the options those RPCs answer UNIMPLEMENTED.
//
// Does not own its collaborators (main does). Thread-safe.

#include <cstdint>

#include "common/auth/authorizer.h"
#include "mlops/training/v1/training.grpc.pb.h"
#include "services/training/job_manager.h"
#include "services/training/metrics.h"
#include "services/training/run_log_store.h"
#include "services/training/tracking.h"
#include "services/training/trigger_manager.h"

namespace mlops::training {

struct TrainingServiceOptions {
  // Largest artifact accepted by UploadArtifact. The contract's default is
  // 4 GiB; uploads are buffered in memory and Postgres bytea values are
  // limited, so ours is 1 GiB.
  int64_t max_artifact_bytes = int64_t{1} << 30;
  // The job runner and the triggers; null = those RPCs are UNIMPLEMENTED.
  JobManager* jobs = nullptr;
  TriggerManager* triggers = nullptr;
  // Command trainers' output lines, streamed by WatchRun as LogLine
  // events; null = WatchRun sends no log lines.
  RunLogStore* run_logs = nullptr;
};

class TrainingServiceImpl final : public v1::TrainingService::Service {
 public:
  // metrics may be null (tests).
  TrainingServiceImpl(Tracking* tracking, const Authorizer* authorizer, TrainingMetrics* metrics,
                      TrainingServiceOptions options = {});

  grpc::Status CreateExperiment(grpc::ServerContext* ctx, const v1::CreateExperimentRequest* req,
                                v1::Experiment* resp) override;
  grpc::Status GetExperiment(grpc::ServerContext* ctx, const v1::GetExperimentRequest* req,
                             v1::Experiment* resp) override;
  grpc::Status ListExperiments(grpc::ServerContext* ctx, const v1::ListExperimentsRequest* req,
                               v1::ListExperimentsResponse* resp) override;
  grpc::Status StartRun(grpc::ServerContext* ctx, const v1::StartRunRequest* req,
                        v1::Run* resp) override;
  grpc::Status LogMetrics(grpc::ServerContext* ctx,
                          grpc::ServerReader<v1::LogMetricsRequest>* reader,
                          v1::LogMetricsResponse* resp) override;
  grpc::Status LogParams(grpc::ServerContext* ctx, const v1::LogParamsRequest* req,
                         v1::LogParamsResponse* resp) override;
  grpc::Status SetTags(grpc::ServerContext* ctx, const v1::SetTagsRequest* req,
                       v1::SetTagsResponse* resp) override;
  grpc::Status EndRun(grpc::ServerContext* ctx, const v1::EndRunRequest* req,
                      v1::Run* resp) override;
  grpc::Status UploadArtifact(grpc::ServerContext* ctx,
                              grpc::ServerReader<v1::UploadArtifactRequest>* reader,
                              v1::ArtifactRef* resp) override;
  grpc::Status ListArtifacts(grpc::ServerContext* ctx, const v1::ListArtifactsRequest* req,
                             v1::ListArtifactsResponse* resp) override;
  grpc::Status DownloadArtifact(grpc::ServerContext* ctx, const v1::DownloadArtifactRequest* req,
                                grpc::ServerWriter<v1::DownloadArtifactResponse>* writer) override;
  grpc::Status GetRun(grpc::ServerContext* ctx, const v1::GetRunRequest* req,
                      v1::Run* resp) override;
  grpc::Status ListRuns(grpc::ServerContext* ctx, const v1::ListRunsRequest* req,
                        v1::ListRunsResponse* resp) override;
  grpc::Status GetMetricHistory(grpc::ServerContext* ctx, const v1::GetMetricHistoryRequest* req,
                                v1::GetMetricHistoryResponse* resp) override;
  grpc::Status CancelRun(grpc::ServerContext* ctx, const v1::CancelRunRequest* req,
                         v1::Run* resp) override;
  grpc::Status WatchRun(grpc::ServerContext* ctx, const v1::WatchRunRequest* req,
                        grpc::ServerWriter<v1::RunEvent>* writer) override;

  // Jobs (training_service_jobs.cc).
  grpc::Status SubmitTrainingJob(grpc::ServerContext* ctx, const v1::SubmitTrainingJobRequest* req,
                                 v1::TrainingJob* resp) override;
  grpc::Status GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req,
                      v1::TrainingJob* resp) override;
  grpc::Status ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                        v1::ListJobsResponse* resp) override;
  grpc::Status WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                        grpc::ServerWriter<v1::JobEvent>* writer) override;
  grpc::Status CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req,
                         v1::TrainingJob* resp) override;

  // Triggers (training_service_triggers.cc).
  grpc::Status CreatePipelineTrigger(grpc::ServerContext* ctx,
                                     const v1::CreatePipelineTriggerRequest* req,
                                     v1::PipelineTrigger* resp) override;
  grpc::Status ListPipelineTriggers(grpc::ServerContext* ctx,
                                    const v1::ListPipelineTriggersRequest* req,
                                    v1::ListPipelineTriggersResponse* resp) override;
  grpc::Status FireTrigger(grpc::ServerContext* ctx, const v1::FireTriggerRequest* req,
                           v1::FireTriggerResponse* resp) override;

 private:
  // Authorizes the call; the principal's name on success.
  absl::StatusOr<std::string> Authorize(grpc::ServerContext* ctx, Role role) const;
  void CountEnd(bool changed, RunStatus status);
  // A job trial's run: the job's cause, and the trigger and alert that
  // started it in the run's lineage (training_service_jobs.cc).
  void AddJobCause(v1::Run* run) const;

  Tracking* tracking_;
  const Authorizer* authorizer_;
  TrainingMetrics* metrics_;
  TrainingServiceOptions options_;
};

}  // namespace mlops::training
