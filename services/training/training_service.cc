#include "services/training/training_service.h"

#include <future>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/training/proto_convert.h"
#include "services/training/rpc_finish.h"

namespace mlops::training {
namespace {

grpc::Status Finish(const char* rpc, const absl::Status& s) { return FinishRpc(rpc, s); }

template <class M>
std::map<std::string, std::string> ToMap(const M& proto_map) {
  return std::map<std::string, std::string>(proto_map.begin(), proto_map.end());
}

}  // namespace

TrainingServiceImpl::TrainingServiceImpl(Tracking* tracking, const Authorizer* authorizer,
                                         TrainingMetrics* metrics, TrainingServiceOptions options)
    : tracking_(tracking), authorizer_(authorizer), metrics_(metrics), options_(options) {}

absl::StatusOr<std::string> TrainingServiceImpl::Authorize(grpc::ServerContext* ctx,
                                                           Role role) const {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, role);
  if (!who.ok()) return who.status();
  return who->name;
}

void TrainingServiceImpl::CountEnd(bool changed, RunStatus status) {
  if (changed && metrics_ != nullptr) metrics_->CountRun(status);
}

grpc::Status TrainingServiceImpl::CreateExperiment(grpc::ServerContext* ctx,
                                                   const v1::CreateExperimentRequest* req,
                                                   v1::Experiment* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("CreateExperiment", who.status());
  Experiment e;
  e.name = req->name();
  e.description = req->description();
  e.tags = ToMap(req->tags());
  absl::StatusOr<Experiment> out = tracking_->CreateExperiment(std::move(e), *who);
  if (!out.ok()) return Finish("CreateExperiment", out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::GetExperiment(grpc::ServerContext* ctx,
                                                const v1::GetExperimentRequest* req,
                                                v1::Experiment* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("GetExperiment", who.status());
  absl::StatusOr<Experiment> out = tracking_->GetExperiment(req->name());
  if (!out.ok()) return Finish("GetExperiment", out.status());
  ToProto(*out, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListExperiments(grpc::ServerContext* ctx,
                                                  const v1::ListExperimentsRequest* req,
                                                  v1::ListExperimentsResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("ListExperiments", who.status());
  absl::StatusOr<ExperimentPage> page = tracking_->ListExperiments(
      req->name_prefix(), req->page().page_token(), req->page().page_size());
  if (!page.ok()) return Finish("ListExperiments", page.status());
  for (const Experiment& e : page->experiments) ToProto(e, resp->add_experiments());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::StartRun(grpc::ServerContext* ctx,
                                           const v1::StartRunRequest* req, v1::Run* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("StartRun", who.status());
  StartRunInput in;
  in.experiment = req->experiment();
  in.name = req->name();
  in.params = ToMap(req->params());
  in.tags = ToMap(req->tags());
  in.inputs = FromProto(req->inputs());
  in.start_time_micros = req->start_time_micros();
  absl::StatusOr<Run> run = tracking_->StartRun(std::move(in), *who);
  if (!run.ok()) return Finish("StartRun", run.status());
  if (metrics_ != nullptr) metrics_->CountRun(RunStatus::kRunning);
  ToProto(*run, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::LogMetrics(grpc::ServerContext* ctx,
                                             grpc::ServerReader<v1::LogMetricsRequest>* reader,
                                             v1::LogMetricsResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("LogMetrics", who.status());
  v1::LogMetricsRequest req;
  std::string run_id;
  int64_t stored = 0;
  int message = 0;
  auto fail = [&](const absl::Status& s) {
    return Finish("LogMetrics", absl::Status(s.code(), absl::StrCat(s.message(), " (", stored,
                                                                    " points stored before)")));
  };
  // Message k is stored on a helper thread while message k+1 is read and
  // converted; k+1 is stored only after k succeeded, so a failure still
  // keeps exactly the messages before it.
  std::future<absl::StatusOr<int64_t>> pending;
  auto wait_pending = [&]() -> absl::Status {
    if (!pending.valid()) return absl::OkStatus();
    absl::StatusOr<int64_t> n = pending.get();
    if (!n.ok()) return n.status();
    stored += *n;
    if (metrics_ != nullptr) metrics_->AddMetricPoints(*n);
    return absl::OkStatus();
  };
  for (; reader->Read(&req); ++message) {
    if (message == 0) {
      if (req.run_id().empty()) {
        return fail(absl::InvalidArgumentError("message 0: run_id is required"));
      }
      run_id = req.run_id();
    } else if (!req.run_id().empty() && req.run_id() != run_id) {
      if (absl::Status s = wait_pending(); !s.ok()) return fail(s);
      return fail(absl::InvalidArgumentError(
          absl::StrCat("message ", message, ": run_id differs from the first message's")));
    }
    std::vector<MetricPoint> points;
    points.reserve(req.points_size());
    for (const v1::MetricPoint& p : req.points()) points.push_back(FromProto(p));
    if (absl::Status s = wait_pending(); !s.ok()) return fail(s);
    pending = std::async(std::launch::async,
                         [this, &run_id, message, batch = std::move(points)]() mutable {
                           return tracking_->LogMetrics(run_id, message, std::move(batch));
                         });
  }
  if (absl::Status s = wait_pending(); !s.ok()) return fail(s);
  if (message == 0) return fail(absl::InvalidArgumentError("no message: run_id is required"));
  resp->set_points_logged(stored);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::LogParams(grpc::ServerContext* ctx,
                                            const v1::LogParamsRequest* req,
                                            v1::LogParamsResponse*) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("LogParams", who.status());
  return Finish("LogParams", tracking_->LogParams(req->run_id(), ToMap(req->params())));
}

grpc::Status TrainingServiceImpl::SetTags(grpc::ServerContext* ctx, const v1::SetTagsRequest* req,
                                          v1::SetTagsResponse*) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("SetTags", who.status());
  std::vector<std::string> remove(req->remove_keys().begin(), req->remove_keys().end());
  return Finish("SetTags", tracking_->SetTags(req->run_id(), ToMap(req->tags()), remove));
}

grpc::Status TrainingServiceImpl::EndRun(grpc::ServerContext* ctx, const v1::EndRunRequest* req,
                                         v1::Run* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("EndRun", who.status());
  bool changed = false;
  absl::StatusOr<Run> run =
      tracking_->EndRun(req->run_id(), static_cast<RunStatus>(req->status()),
                        req->end_time_micros(), req->failure_reason(), &changed);
  if (!run.ok()) return Finish("EndRun", run.status());
  CountEnd(changed, run->status);
  ToProto(*run, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::CancelRun(grpc::ServerContext* ctx,
                                            const v1::CancelRunRequest* req, v1::Run* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("CancelRun", who.status());
  bool changed = false;
  absl::StatusOr<Run> run = tracking_->CancelRun(req->run_id(), req->reason(), &changed);
  if (!run.ok()) return Finish("CancelRun", run.status());
  CountEnd(changed, run->status);
  ToProto(*run, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::UploadArtifact(
    grpc::ServerContext* ctx, grpc::ServerReader<v1::UploadArtifactRequest>* reader,
    v1::ArtifactRef* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return Finish("UploadArtifact", who.status());
  v1::UploadArtifactRequest req;
  if (!reader->Read(&req) || !req.has_header()) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
    return Finish("UploadArtifact",
                  absl::InvalidArgumentError("the first message must be a header"));
  }
  const v1::UploadArtifactHeader header = req.header();
  absl::Status ok = tracking_->CheckUploadHeader(header.run_id(), header.path(),
                                                 header.content_type(),
                                                 header.expected_size_bytes());
  if (!ok.ok()) return Finish("UploadArtifact", ok);
  std::string content;
  std::string declared_sha;
  bool ended = false;
  for (int message = 1; reader->Read(&req); ++message) {
    if (ended || req.has_header() || req.payload_case() == req.PAYLOAD_NOT_SET) {
      return Finish("UploadArtifact",
                    absl::InvalidArgumentError(absl::StrCat(
                        "message ", message, ": expected data or end after the header")));
    }
    if (req.has_end()) {
      ended = true;
      declared_sha = req.end().sha256();
      continue;
    }
    if (static_cast<int64_t>(content.size() + req.data().size()) > options_.max_artifact_bytes) {
      return Finish("UploadArtifact",
                    absl::InvalidArgumentError(absl::StrCat("artifact above the server's limit of ",
                                                            options_.max_artifact_bytes, " bytes")));
    }
    content += req.data();
  }
  if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
  if (!ended) {
    return Finish("UploadArtifact", absl::InvalidArgumentError("no end message: nothing stored"));
  }
  absl::StatusOr<ArtifactRef> ref =
      tracking_->PutArtifact(header.run_id(), header.path(), header.content_type(), content,
                             declared_sha, header.expected_size_bytes());
  if (!ref.ok()) return Finish("UploadArtifact", ref.status());
  if (metrics_ != nullptr) metrics_->AddArtifactBytes(ref->size_bytes);
  ToProto(*ref, resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListArtifacts(grpc::ServerContext* ctx,
                                                const v1::ListArtifactsRequest* req,
                                                v1::ListArtifactsResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("ListArtifacts", who.status());
  absl::StatusOr<std::vector<ArtifactRef>> refs = tracking_->ListArtifacts(req->run_id());
  if (!refs.ok()) return Finish("ListArtifacts", refs.status());
  for (const ArtifactRef& a : *refs) ToProto(a, resp->add_artifacts());
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::DownloadArtifact(
    grpc::ServerContext* ctx, const v1::DownloadArtifactRequest* req,
    grpc::ServerWriter<v1::DownloadArtifactResponse>* writer) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("DownloadArtifact", who.status());
  absl::StatusOr<ArtifactRef> ref = absl::InvalidArgumentError("selector: give sha256 or run_path");
  if (req->has_sha256()) {
    ref = req->sha256().empty() ? absl::InvalidArgumentError("sha256: empty")
                                : tracking_->FindArtifact(req->sha256(), "", "");
  } else if (req->has_run_path()) {
    ref = tracking_->FindArtifact("", req->run_path().run_id(), req->run_path().path());
  }
  if (!ref.ok()) return Finish("DownloadArtifact", ref.status());
  v1::DownloadArtifactResponse msg;
  ToProto(*ref, msg.mutable_ref());
  if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  int chunks = static_cast<int>((ref->size_bytes + kArtifactChunkBytes - 1) / kArtifactChunkBytes);
  for (int i = 0; i < chunks; ++i) {
    absl::StatusOr<std::string> data = tracking_->ReadChunk(ref->sha256, i);
    if (!data.ok()) return Finish("DownloadArtifact", data.status());
    msg.Clear();
    msg.set_data(*std::move(data));
    if (!writer->Write(msg)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::GetRun(grpc::ServerContext* ctx, const v1::GetRunRequest* req,
                                         v1::Run* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("GetRun", who.status());
  absl::StatusOr<Run> run = tracking_->GetRun(req->run_id());
  if (!run.ok()) return Finish("GetRun", run.status());
  ToProto(*run, resp);
  AddJobCause(resp);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListRuns(grpc::ServerContext* ctx,
                                           const v1::ListRunsRequest* req,
                                           v1::ListRunsResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("ListRuns", who.status());
  absl::StatusOr<RunListPage> page =
      tracking_->ListRuns(FromProto(*req), req->page().page_token(), req->page().page_size());
  if (!page.ok()) return Finish("ListRuns", page.status());
  for (const Run& r : page->runs) ToProto(r, resp->add_runs());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::GetMetricHistory(grpc::ServerContext* ctx,
                                                   const v1::GetMetricHistoryRequest* req,
                                                   v1::GetMetricHistoryResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return Finish("GetMetricHistory", who.status());
  absl::StatusOr<MetricHistoryPage> page = tracking_->GetMetricHistory(
      req->run_id(), req->key(), req->page().page_token(), req->page().page_size());
  if (!page.ok()) return Finish("GetMetricHistory", page.status());
  for (const MetricPoint& p : page->points) ToProto(p, resp->add_points());
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

}  // namespace mlops::training
