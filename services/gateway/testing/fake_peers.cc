#include "services/gateway/testing/fake_peers.h"

#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/xgboost/xgb_booster.h"
#include "grpcpp/server_builder.h"

namespace mlops::gateway::testing {

namespace rv1 = ::mlops::registry::v1;
namespace fv1 = ::mlops::features::v1;
namespace mv1 = ::mlops::monitoring::v1;
namespace cv1 = ::mlops::common::v1;

absl::StatusOr<std::string> TrainTestModel(int cols, int rounds, int depth, unsigned seed) {
  const std::size_t rows = 2000;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0, 1);
  std::vector<float> values;
  std::vector<float> labels;
  for (std::size_t r = 0; r < rows; ++r) {
    float sum = 0;
    for (int c = 0; c < cols; ++c) {
      const float x = uniform(rng);
      values.push_back(x);
      if (c < 2) sum += x;
    }
    labels.push_back(sum > 1 ? 1.0f : 0.0f);
  }
  absl::StatusOr<xgb::XgbMatrix> train = xgb::XgbMatrix::FromDense(values, rows, cols);
  if (!train.ok()) return train.status();
  if (absl::Status s = train->SetLabels(labels); !s.ok()) return s;
  absl::StatusOr<xgb::XgbBooster> booster = xgb::XgbBooster::ForTraining(
      {&*train}, {{"objective", "binary:logistic"}, {"max_depth", std::to_string(depth)},
                  {"nthread", "1"}, {"seed", std::to_string(seed)}});
  if (!booster.ok()) return booster.status();
  for (int i = 0; i < rounds; ++i) {
    if (absl::Status s = booster->TrainOneRound(i, *train); !s.ok()) return s;
  }
  return booster->SaveJson();
}

rv1::ModelSignature TestSignature(int cols) {
  rv1::ModelSignature s;
  for (int i = 0; i < cols; ++i) {
    rv1::SignatureInput* in = s.add_inputs();
    in->set_name(absl::StrCat("f", i));
    in->set_type(cv1::DATA_TYPE_DOUBLE);
    in->set_feature_ref(absl::StrCat("view:f", i));
  }
  s.mutable_output()->set_kind(rv1::OUTPUT_KIND_BINARY_PROBABILITY);
  s.mutable_output()->add_class_labels("no");
  s.mutable_output()->add_class_labels("yes");
  s.mutable_entity_key()->set_name("customer_id");
  s.mutable_entity_key()->set_type(cv1::DATA_TYPE_INT64);
  return s;
}

void FakeRegistry::AddVersion(const std::string& model, int64_t version,
                              const std::string& artifact, const rv1::ModelSignature& signature,
                              bool production) {
  std::lock_guard<std::mutex> lock(mu_);
  Stored& s = versions_[{model, version}];
  s.artifact = artifact;
  s.version.set_model(model);
  s.version.set_version(version);
  s.version.set_flavor(rv1::FLAVOR_XGBOOST);
  s.version.mutable_artifact()->set_sha256(HashToken(artifact));
  s.version.mutable_artifact()->set_size_bytes(static_cast<int64_t>(artifact.size()));
  s.version.mutable_artifact()->set_format(rv1::ARTIFACT_FORMAT_XGBOOST_JSON);
  *s.version.mutable_signature() = signature;
  s.version.set_stage(production ? rv1::STAGE_PRODUCTION : rv1::STAGE_STAGING);
}

void FakeRegistry::SetEndpoint(const std::string& endpoint, const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  endpoints_[endpoint] = model;
}

std::vector<rv1::RecordDeploymentEventRequest> FakeRegistry::events() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

grpc::Status FakeRegistry::GetModelVersion(grpc::ServerContext*,
                                           const rv1::GetModelVersionRequest* req,
                                           rv1::ModelVersion* resp) {
  std::lock_guard<std::mutex> lock(mu_);
  const rv1::ModelVersion* found = nullptr;
  for (const auto& [key, stored] : versions_) {
    if (key.first != req->model()) continue;
    if (req->selector_case() == rv1::GetModelVersionRequest::kVersion && key.second == req->version()) {
      found = &stored.version;
    }
    if (req->selector_case() == rv1::GetModelVersionRequest::kStage &&
        stored.version.stage() == req->stage()) {
      found = &stored.version;
    }
  }
  if (found == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such version");
  *resp = *found;
  return grpc::Status::OK;
}

grpc::Status FakeRegistry::GetArtifact(grpc::ServerContext*, const rv1::GetArtifactRequest* req,
                                       grpc::ServerWriter<rv1::GetArtifactResponse>* writer) {
  ++artifact_reads_;
  Stored stored;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = versions_.find({req->version().model(), req->version().version()});
    if (it == versions_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such artifact");
    stored = it->second;
  }
  if (req->purpose() != rv1::ARTIFACT_READ_PURPOSE_DEPLOYMENT &&
      req->purpose() != rv1::ARTIFACT_READ_PURPOSE_BATCH_SCORING) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "purpose must be DEPLOYMENT or BATCH_SCORING");
  }
  std::string bytes = stored.artifact;
  if (corrupt_) bytes[bytes.size() / 2] ^= 0x01;
  rv1::GetArtifactResponse info;
  *info.mutable_info() = stored.version.artifact();
  writer->Write(info);
  for (std::size_t off = 0; off < bytes.size(); off += 65536) {
    rv1::GetArtifactResponse chunk;
    chunk.set_chunk(bytes.substr(off, 65536));
    writer->Write(chunk);
  }
  return grpc::Status::OK;
}

grpc::Status FakeRegistry::GetEndpointConfig(grpc::ServerContext*,
                                             const rv1::GetEndpointConfigRequest* req,
                                             rv1::EndpointConfig* resp) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(req->endpoint());
  if (it == endpoints_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown endpoint");
  resp->set_endpoint(it->first);
  resp->set_model(it->second);
  return grpc::Status::OK;
}

grpc::Status FakeRegistry::RecordDeploymentEvent(grpc::ServerContext*,
                                                 const rv1::RecordDeploymentEventRequest* req,
                                                 rv1::RecordDeploymentEventResponse* resp) {
  const bool manual = req->type() == rv1::DEPLOYMENT_EVENT_TYPE_MANUAL_ROLLOUT;
  if (fail_events_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "registry down");
  if (reject_manual_ && manual) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "MANUAL_ROLLOUT is not supported");
  }
  if (refuse_manual_ && manual) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "candidate not eligible");
  }
  if (req->rollout_id().empty() && !manual) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "rollout_id: required");
  }
  std::unique_lock<std::mutex> lock(mu_);
  events_.push_back(*req);
  resp->set_audit_sequence(static_cast<int64_t>(events_.size()));
  rv1::EndpointDeployment* ep = resp->mutable_endpoint();
  ep->set_endpoint(req->endpoint());
  if (!manual) {
    ep->mutable_rollout()->set_rollout_id(req->rollout_id());
    auto spec = specs_.find(req->rollout_id());
    if (req->type() == rv1::DEPLOYMENT_EVENT_TYPE_ROLLOUT_COMPLETED && spec != specs_.end() &&
        (spec->second.strategy() != rv1::ROLLOUT_STRATEGY_SHADOW ||
         spec->second.shadow().promote_on_success())) {
      primary_[req->endpoint()] = req->candidate_version();
    }
    return grpc::Status::OK;
  }
  int64_t primary = req->primary_version();
  if (primary == 0) primary = primary_[req->endpoint()];
  if (primary == 0) {
    auto model = endpoints_.find(req->endpoint());
    for (const auto& [key, stored] : versions_) {
      if (model != endpoints_.end() && key.first == model->second &&
          stored.version.stage() == rv1::STAGE_PRODUCTION) {
        primary = key.second;
      }
    }
  }
  const std::string id = absl::StrCat("ro-fake", next_rollout_++);
  specs_[id] = req->spec();
  ep->set_model(endpoints_[req->endpoint()]);
  auto* p = ep->add_versions();
  p->set_version(primary);
  p->set_role(rv1::SERVED_VERSION_ROLE_PRIMARY);
  auto* c = ep->add_versions();
  c->set_version(req->candidate_version());
  c->set_role(rv1::SERVED_VERSION_ROLE_CANDIDATE);
  rv1::DeploymentRollout* r = ep->mutable_rollout();
  r->set_rollout_id(id);
  r->set_origin(rv1::ROLLOUT_ORIGIN_MANUAL);
  *r->mutable_spec() = req->spec();
  r->set_primary_version(primary);
  r->set_candidate_version(req->candidate_version());
  r->set_state(rv1::ROLLOUT_STATE_PENDING);
  r->set_started_by("gateway");
  r->set_reason(req->reason());
  rv1::WatchDeploymentsResponse change;
  change.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_CHANGE);
  change.set_sequence(resp->audit_sequence());
  *change.mutable_endpoint() = *ep;
  watch_queue_.push_back(std::move(change));
  lock.unlock();
  watch_cv_.notify_all();
  return grpc::Status::OK;
}

void FakeRegistry::PushDeployment(const rv1::WatchDeploymentsResponse& msg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch_queue_.push_back(msg);
  }
  watch_cv_.notify_all();
}

grpc::Status FakeRegistry::WatchDeployments(grpc::ServerContext* ctx,
                                            const rv1::WatchDeploymentsRequest*,
                                            grpc::ServerWriter<rv1::WatchDeploymentsResponse>* writer) {
  rv1::WatchDeploymentsResponse complete;
  complete.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_SNAPSHOT_COMPLETE);
  if (!writer->Write(complete)) return grpc::Status::OK;
  while (!ctx->IsCancelled()) {
    std::vector<rv1::WatchDeploymentsResponse> out;
    {
      std::unique_lock<std::mutex> lock(mu_);
      watch_cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return !watch_queue_.empty(); });
      out.assign(watch_queue_.begin(), watch_queue_.end());
      watch_queue_.clear();
    }
    for (const rv1::WatchDeploymentsResponse& m : out) {
      if (!writer->Write(m)) return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::CANCELLED, "watcher left");
}

double FakeFeatures::Value(int64_t entity, int i) {
  return static_cast<double>((entity * 7919 + i * 104729) % 1000) / 1000.0;
}

grpc::Status FakeFeatures::GetOnlineFeatures(grpc::ServerContext*,
                                             const fv1::GetOnlineFeaturesRequest* req,
                                             fv1::GetOnlineFeaturesResponse* resp) {
  ++calls_;
  if (fail_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "features down");
  for (const std::string& ref : req->feature_refs()) {
    fv1::OnlineFeatureColumn* c = resp->add_columns();
    c->set_ref(ref);
    c->set_type(cv1::DATA_TYPE_DOUBLE);
  }
  for (const cv1::Row& row : req->entity_rows()) {
    if (row.values_size() != 1 || row.values(0).kind_case() != cv1::Value::kInt64Value) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "entity key must be INT64");
    }
    const int64_t entity = row.values(0).int64_value();
    fv1::OnlineFeatureRow* out = resp->add_rows();
    for (int i = 0; i < req->feature_refs_size(); ++i) {
      if (entity >= unknown_from_) {
        out->add_values();
        out->add_statuses(fv1::FEATURE_STATUS_ENTITY_UNKNOWN);
      } else {
        out->add_values()->set_double_value(Value(entity, i));
        out->add_statuses(fv1::FEATURE_STATUS_PRESENT);
      }
    }
  }
  return grpc::Status::OK;
}

int64_t FakeMonitoring::records(mv1::Variant v) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(v);
  return it == records_.end() ? 0 : it->second;
}

grpc::Status FakeMonitoring::LogPredictions(grpc::ServerContext*,
                                            grpc::ServerReader<mv1::LogPredictionsRequest>* reader,
                                            mv1::LogPredictionsResponse* resp) {
  if (fail_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "monitoring down");
  mv1::LogPredictionsRequest req;
  while (reader->Read(&req)) {
    std::lock_guard<std::mutex> lock(mu_);
    records_[req.variant()] += req.records_size();
    resp->set_accepted(resp->accepted() + req.records_size());
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::unique_ptr<LoopbackServer>> LoopbackServer::Start(
    std::vector<grpc::Service*> services, const std::string& name) {
  auto out = std::unique_ptr<LoopbackServer>(new LoopbackServer());
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &out->port_);
  for (grpc::Service* s : services) builder.RegisterService(s);
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr || out->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(name, ": could not start a loopback server"));
  }
  PeerChannelOptions options;
  options.address = absl::StrCat("127.0.0.1:", out->port_);
  absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create(name, options);
  if (!peer.ok()) return peer.status();
  out->peer_ = std::move(*peer);
  return out;
}

LoopbackServer::~LoopbackServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace mlops::gateway::testing
