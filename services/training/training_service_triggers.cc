// TrainingServiceImpl's trigger RPCs. Thin: authorize, call TriggerManager.
#include <string>

#include "services/training/rpc_finish.h"
#include "services/training/training_service.h"

namespace mlops::training {
namespace {

absl::Status NoTriggers() {
  return absl::UnimplementedError("pipeline triggers are not enabled on this server");
}

}  // namespace

grpc::Status TrainingServiceImpl::CreatePipelineTrigger(grpc::ServerContext* ctx,
                                                        const v1::CreatePipelineTriggerRequest* req,
                                                        v1::PipelineTrigger* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return FinishRpc("CreatePipelineTrigger", who.status());
  if (options_.triggers == nullptr) return FinishRpc("CreatePipelineTrigger", NoTriggers());
  absl::StatusOr<v1::PipelineTrigger> t = options_.triggers->Create(req->trigger(), *who);
  if (!t.ok()) return FinishRpc("CreatePipelineTrigger", t.status());
  *resp = std::move(*t);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::ListPipelineTriggers(grpc::ServerContext* ctx,
                                                       const v1::ListPipelineTriggersRequest* req,
                                                       v1::ListPipelineTriggersResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kViewer);
  if (!who.ok()) return FinishRpc("ListPipelineTriggers", who.status());
  if (options_.triggers == nullptr) return FinishRpc("ListPipelineTriggers", NoTriggers());
  absl::StatusOr<TriggerPage> page = options_.triggers->List(*req);
  if (!page.ok()) return FinishRpc("ListPipelineTriggers", page.status());
  for (v1::PipelineTrigger& t : page->triggers) *resp->add_triggers() = std::move(t);
  resp->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::FireTrigger(grpc::ServerContext* ctx, const v1::FireTriggerRequest* req,
                                              v1::FireTriggerResponse* resp) {
  absl::StatusOr<std::string> who = Authorize(ctx, Role::kEditor);
  if (!who.ok()) return FinishRpc("FireTrigger", who.status());
  if (options_.triggers == nullptr) return FinishRpc("FireTrigger", NoTriggers());
  absl::StatusOr<v1::FireTriggerResponse> out = options_.triggers->Fire(*req, *who);
  if (!out.ok()) return FinishRpc("FireTrigger", out.status());
  *resp = std::move(*out);
  return grpc::Status::OK;
}

}  // namespace mlops::training
