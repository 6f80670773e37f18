#include "services/gateway/registry_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"

namespace mlops::gateway {
namespace {

namespace rv1 = ::mlops::registry::v1;
namespace cv1 = ::mlops::common::v1;

absl::StatusOr<InputType> TypeFromProto(cv1::DataType t, const std::string& what) {
  switch (t) {
    case cv1::DATA_TYPE_INT64: return InputType::kInt64;
    case cv1::DATA_TYPE_DOUBLE: return InputType::kDouble;
    case cv1::DATA_TYPE_STRING: return InputType::kString;
    case cv1::DATA_TYPE_BOOL: return InputType::kBool;
    case cv1::DATA_TYPE_TIMESTAMP: return InputType::kTimestamp;
    default: return absl::InvalidArgumentError(absl::StrCat(what, ": unsupported type"));
  }
}

}  // namespace

absl::StatusOr<ModelSignature> SignatureFromProto(const rv1::ModelSignature& p) {
  ModelSignature s;
  for (const rv1::SignatureInput& in : p.inputs()) {
    SignatureInput i;
    i.name = in.name();
    MLOPS_ASSIGN_OR_RETURN(i.type, TypeFromProto(in.type(), "input \"" + in.name() + "\""));
    i.nullable = in.nullable();
    i.allow_non_finite = in.allow_non_finite();
    i.feature_ref = in.feature_ref();
    i.categories.assign(in.categories().begin(), in.categories().end());
    s.inputs.push_back(std::move(i));
  }
  switch (p.output().kind()) {
    case rv1::OUTPUT_KIND_BINARY_PROBABILITY: s.output = OutputKind::kBinaryProbability; break;
    case rv1::OUTPUT_KIND_MULTICLASS_PROBABILITIES: s.output = OutputKind::kMulticlass; break;
    default: s.output = OutputKind::kRegression; break;
  }
  s.class_labels.assign(p.output().class_labels().begin(), p.output().class_labels().end());
  s.decision_threshold = p.output().decision_threshold() == 0 ? 0.5 : p.output().decision_threshold();
  s.num_classes = p.output().num_classes();
  s.entity_key = p.entity_key().name();
  if (!s.entity_key.empty()) {
    MLOPS_ASSIGN_OR_RETURN(s.entity_key_type, TypeFromProto(p.entity_key().type(), "entity key"));
  }
  return s;
}

RegistryClient::RegistryClient(const PeerChannel* peer, std::string gateway_id,
                               rv1::ArtifactReadPurpose purpose)
    : peer_(peer),
      gateway_id_(std::move(gateway_id)),
      purpose_(purpose),
      stub_(rv1::RegistryService::NewStub(peer->channel())) {}

absl::StatusOr<ModelVersionInfo> RegistryClient::GetVersion(const std::string& model,
                                                            int64_t version) {
  rv1::GetModelVersionRequest req;
  req.set_model(model);
  req.set_version(version);
  rv1::ModelVersion v;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetModelVersion(ctx.get(), req, &v)));
  if (v.flavor() != rv1::FLAVOR_XGBOOST ||
      v.artifact().format() != rv1::ARTIFACT_FORMAT_XGBOOST_JSON) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model ", model, "@", version, ": only XGBoost JSON artifacts can be served"));
  }
  ModelVersionInfo info;
  info.model = model;
  info.version = version;
  info.artifact_sha256 = v.artifact().sha256();
  MLOPS_ASSIGN_OR_RETURN(info.signature, SignatureFromProto(v.signature()));
  return info;
}

absl::StatusOr<std::string> RegistryClient::GetArtifact(const ModelVersionInfo& info,
                                                        const std::string& endpoint) {
  rv1::GetArtifactRequest req;
  req.set_sha256(info.artifact_sha256);
  req.mutable_version()->set_model(info.model);
  req.mutable_version()->set_version(info.version);
  req.set_purpose(purpose_);
  if (!endpoint.empty()) req.set_endpoint(endpoint);
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext(std::chrono::milliseconds(60000));
  std::unique_ptr<grpc::ClientReader<rv1::GetArtifactResponse>> reader =
      stub_->GetArtifact(ctx.get(), req);
  std::string bytes;
  rv1::GetArtifactResponse msg;
  int64_t expected = -1;
  while (reader->Read(&msg)) {
    if (msg.has_info()) {
      expected = msg.info().size_bytes();
      if (expected > 0) bytes.reserve(static_cast<std::size_t>(expected));
    } else {
      bytes += msg.chunk();
    }
  }
  MLOPS_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
  if (expected >= 0 && static_cast<int64_t>(bytes.size()) != expected) {
    return absl::DataLossError(absl::StrCat("artifact of ", info.model, "@", info.version, ": got ",
                                            bytes.size(), " bytes, expected ", expected));
  }
  return bytes;
}

absl::StatusOr<std::string> RegistryClient::EndpointModel(const std::string& endpoint) {
  rv1::GetEndpointConfigRequest req;
  req.set_endpoint(endpoint);
  rv1::EndpointConfig config;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetEndpointConfig(ctx.get(), req, &config)));
  return config.model();
}

absl::StatusOr<int64_t> RegistryClient::ProductionVersion(const std::string& model) {
  rv1::GetModelVersionRequest req;
  req.set_model(model);
  req.set_stage(rv1::STAGE_PRODUCTION);
  rv1::ModelVersion v;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(FromGrpcStatus(stub_->GetModelVersion(ctx.get(), req, &v)));
  return v.version();
}

absl::StatusOr<std::string> RegistryClient::Report(const DeploymentEvent& e) {
  rv1::RecordDeploymentEventRequest req;
  req.set_endpoint(e.endpoint);
  req.set_type(static_cast<rv1::DeploymentEventType>(static_cast<int>(e.type)));
  req.set_rollout_id(e.rollout_id);
  req.set_primary_version(e.primary_version);
  req.set_candidate_version(e.candidate_version);
  req.set_step(e.step);
  req.set_candidate_percent(e.candidate_percent);
  if (!e.spec_bytes.empty() && !req.mutable_spec()->ParseFromString(e.spec_bytes)) {
    return absl::InternalError("rollout spec does not parse");
  }
  req.set_reason(e.reason);
  for (const auto& [k, v] : e.metrics) (*req.mutable_metrics())[k] = v;
  req.set_gateway_id(gateway_id_);
  req.set_at_micros(e.at_micros);
  rv1::RecordDeploymentEventResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
  MLOPS_RETURN_IF_ERROR(FromGrpcStatus(stub_->RecordDeploymentEvent(ctx.get(), req, &resp)));
  return resp.endpoint().rollout().rollout_id();
}

}  // namespace mlops::gateway
