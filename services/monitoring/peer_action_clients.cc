#include "services/monitoring/peer_action_clients.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"

namespace mlops::monitoring {
namespace {

constexpr size_t kMaxReasonBytes = 4096;

}  // namespace

std::string AlertReason(const v1::Alert& alert) {
  std::string reason = absl::StrCat("monitoring alert ", alert.id(), " (", alert.model(), "@",
                                    alert.version(), ", policy ", alert.policy(),
                                    "): ", alert.summary());
  if (reason.size() > kMaxReasonBytes) reason.resize(kMaxReasonBytes);
  return reason;
}

GrpcRetrainClient::GrpcRetrainClient(std::shared_ptr<grpc::Channel> channel,
                                     ContextFactory new_context)
    : stub_(training::v1::TrainingService::NewStub(std::move(channel))),
      new_context_(std::move(new_context)) {}

absl::StatusOr<std::string> GrpcRetrainClient::Fire(const std::string& trigger_id,
                                                    const v1::Alert& alert) {
  training::v1::FireTriggerRequest req;
  req.set_trigger_name(trigger_id);
  req.set_alert_id(alert.id());
  req.set_idempotency_key(alert.id());
  req.set_reason(AlertReason(alert));
  training::v1::FireTriggerResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_();
  grpc::Status s = stub_->FireTrigger(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  std::string out;
  for (const training::v1::FiredTrigger& f : resp.results()) {
    if (!out.empty()) out += "; ";
    absl::StrAppend(&out, f.trigger_name(), ": ", training::v1::FireOutcome_Name(f.outcome()),
                    f.job_id().empty() ? "" : " ", f.job_id());
  }
  return out;
}

GrpcRollbackClient::GrpcRollbackClient(std::shared_ptr<grpc::Channel> channel,
                                       ContextFactory new_context)
    : stub_(inference::v1::InferenceService::NewStub(std::move(channel))),
      new_context_(std::move(new_context)) {}

absl::StatusOr<std::string> GrpcRollbackClient::Rollback(const std::string& endpoint,
                                                         const v1::Alert& alert) {
  inference::v1::RollbackRequest req;
  req.set_endpoint(endpoint);
  req.set_reason(AlertReason(alert));
  inference::v1::Rollout resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_();
  grpc::Status s = stub_->Rollback(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp.rollout_id();
}

}  // namespace mlops::monitoring
