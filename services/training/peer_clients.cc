#include "services/training/peer_clients.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace iv1 = ::mlops::ingestion::v1;
namespace fv1 = ::mlops::features::v1;
namespace rv1 = ::mlops::registry::v1;

constexpr std::chrono::milliseconds kReadDeadline{600000};  // whole-table streams
constexpr int kChunkRows = 16384;

std::vector<ColumnInfo> Columns(const cv1::Schema& schema) {
  std::vector<ColumnInfo> out;
  for (const cv1::Column& c : schema.columns()) out.push_back({c.name(), c.type(), c.role()});
  return out;
}

void AppendRow(const cv1::Row& row, std::size_t width, FetchedTable* t) {
  for (std::size_t i = 0; i < width; ++i) {
    double v = std::numeric_limits<double>::quiet_NaN();
    bool null = true;
    if (static_cast<int>(i) < row.values_size()) {
      const cv1::Value& value = row.values(static_cast<int>(i));
      null = false;
      switch (value.kind_case()) {
        case cv1::Value::kInt64Value: v = static_cast<double>(value.int64_value()); break;
        case cv1::Value::kDoubleValue: v = value.double_value(); break;
        case cv1::Value::kBoolValue: v = value.bool_value() ? 1 : 0; break;
        case cv1::Value::kTimestampMicros: v = static_cast<double>(value.timestamp_micros()); break;
        case cv1::Value::kStringValue: break;  // not numeric: NaN, not NULL
        case cv1::Value::KIND_NOT_SET: null = true; break;
      }
    }
    t->values.push_back(v);
    t->is_null.push_back(null);
  }
  ++t->rows;
}

}  // namespace

absl::Status RetryUnavailable(const RetryPolicy& policy, const std::function<absl::Status()>& fn,
                              const std::function<void(int, const absl::Status&)>& on_retry,
                              const std::function<bool()>& stop) {
  std::chrono::milliseconds backoff = policy.initial_backoff;
  absl::Status status;
  for (int attempt = 0; attempt <= policy.max_retries; ++attempt) {
    status = fn();
    if (!absl::IsUnavailable(status) || attempt == policy.max_retries) return status;
    if (on_retry) on_retry(attempt + 1, status);
    // Sleep in small slices so that a stop (cancel, drain) is seen soon.
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < until) {
      if (stop && stop()) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, policy.max_backoff);
  }
  return status;
}

absl::StatusOr<DatasetInfo> PeerTrainingData::DescribeDataset(const std::string& dataset) {
  auto stub = iv1::IngestionService::NewStub(ingestion_->channel());
  iv1::GetDatasetRequest req;
  req.set_name(dataset);
  iv1::Dataset resp;
  grpc::Status s = stub->GetDataset(ingestion_->NewContext().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return DatasetInfo{resp.name(), Columns(resp.schema())};
}

absl::StatusOr<std::string> PeerTrainingData::ResolveVersion(const std::string& dataset,
                                                             const std::string& version_id) {
  auto stub = iv1::IngestionService::NewStub(ingestion_->channel());
  if (version_id.empty() || version_id == "latest") {
    iv1::ListDatasetVersionsRequest req;
    req.set_dataset(dataset);
    req.mutable_page()->set_page_size(1);
    iv1::ListDatasetVersionsResponse resp;
    grpc::Status s = stub->ListDatasetVersions(ingestion_->NewContext().get(), req, &resp);
    if (!s.ok()) return FromGrpcStatus(s);
    if (resp.versions().empty()) {
      return absl::NotFoundError(absl::StrCat("dataset \"", dataset, "\" has no version yet"));
    }
    return resp.versions(0).id();
  }
  iv1::GetDatasetVersionRequest req;
  req.mutable_version()->set_dataset(dataset);
  req.mutable_version()->set_version_id(version_id);
  iv1::DatasetVersion resp;
  grpc::Status s = stub->GetDatasetVersion(ingestion_->NewContext().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp.id();
}

absl::Status PeerTrainingData::NeedFeatures() const {
  if (features_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "feature refs need the feature service: start training with --features_addr");
}

absl::StatusOr<FeatureViewInfo> PeerTrainingData::DescribeFeatureView(const std::string& name,
                                                                      int64_t version) {
  MLOPS_RETURN_IF_ERROR(NeedFeatures());
  auto stub = fv1::FeatureService::NewStub(features_->channel());
  fv1::GetFeatureViewRequest req;
  req.set_name(name);
  req.set_version(version);
  fv1::FeatureView resp;
  grpc::Status s = stub->GetFeatureView(features_->NewContext().get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  FeatureViewInfo info;
  info.name = resp.spec().name();
  info.version = resp.version();
  info.features = Columns(resp.feature_schema());
  info.entity_key_column = resp.spec().entity_key_column();
  return info;
}

absl::StatusOr<FetchedTable> PeerTrainingData::Fetch(const FetchRequest& request) {
  if (request.feature_refs.empty()) return ReadDataset(request);
  return HistoricalFeatures(request);
}

absl::StatusOr<FetchedTable> PeerTrainingData::ReadDataset(const FetchRequest& request) {
  auto stub = iv1::IngestionService::NewStub(ingestion_->channel());
  iv1::ReadDatasetVersionRequest req;
  req.mutable_version()->set_dataset(request.dataset);
  req.mutable_version()->set_version_id(request.version_id);
  for (const std::string& c : request.columns) req.add_columns(c);
  req.set_chunk_rows(kChunkRows);
  std::unique_ptr<grpc::ClientContext> ctx = ingestion_->NewContext(kReadDeadline);
  auto reader = stub->ReadDatasetVersion(ctx.get(), req);
  iv1::ReadDatasetVersionResponse msg;
  FetchedTable t;
  bool header = false;
  while (reader->Read(&msg)) {
    if (msg.has_header()) {
      header = true;
      t.columns = Columns(msg.header().schema());
      t.dataset_version_id = msg.header().version().id();
      t.values.reserve(static_cast<std::size_t>(msg.header().row_count()) * t.columns.size());
    } else {
      for (const cv1::Row& row : msg.chunk().rows()) AppendRow(row, t.columns.size(), &t);
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  if (!header) return absl::InternalError("ReadDatasetVersion: no header");
  return t;
}

absl::StatusOr<FetchedTable> PeerTrainingData::HistoricalFeatures(const FetchRequest& request) {
  MLOPS_RETURN_IF_ERROR(NeedFeatures());
  auto stub = fv1::FeatureService::NewStub(features_->channel());
  fv1::GetHistoricalFeaturesRequest req;
  req.mutable_dataset()->set_dataset(request.dataset);
  req.mutable_dataset()->set_version_id(request.version_id);
  for (const std::string& c : request.columns) req.mutable_dataset()->add_columns(c);
  req.set_entity_key_column(request.entity_key_column);
  req.set_timestamp_column(request.timestamp_column);
  for (const std::string& r : request.feature_refs) req.add_feature_refs(r);
  for (const auto& [view, version] : request.source_dataset_versions) {
    (*req.mutable_source_dataset_versions())[view] = version;
  }
  req.set_chunk_rows(kChunkRows);
  std::unique_ptr<grpc::ClientContext> ctx = features_->NewContext(kReadDeadline);
  auto reader = stub->GetHistoricalFeatures(ctx.get(), req);
  fv1::GetHistoricalFeaturesResponse msg;
  FetchedTable t;
  bool header = false;
  while (reader->Read(&msg)) {
    if (msg.has_header()) {
      header = true;
      const fv1::HistoricalFeaturesHeader& h = msg.header();
      t.columns = Columns(h.schema());
      t.dataset_version_id = h.input_dataset_version_id();
      for (const std::string& r : h.resolved_feature_refs()) t.resolved_feature_refs.push_back(r);
      for (const fv1::ViewVersionUsed& v : h.views()) {
        t.feature_view_versions.push_back(absl::StrCat(v.view(), "@", v.version()));
        t.source_dataset_versions[v.view()] = v.source_dataset_version_id();
      }
    } else {
      for (const cv1::Row& row : msg.chunk().rows()) AppendRow(row, t.columns.size(), &t);
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  if (!header) return absl::InternalError("GetHistoricalFeatures: no header");
  return t;
}

absl::StatusOr<int64_t> PeerModelRegistrar::Register(const rv1::RegisterModelVersionHeader& header,
                                                     const std::string& artifact) {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::milliseconds(120000));
  rv1::ModelVersion resp;
  auto writer = stub->RegisterModelVersion(ctx.get(), &resp);
  rv1::RegisterModelVersionRequest msg;
  *msg.mutable_header() = header;
  bool ok = writer->Write(msg);
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t off = 0; ok && off < artifact.size(); off += kChunk) {
    msg.Clear();
    msg.set_artifact_chunk(artifact.substr(off, kChunk));
    ok = writer->Write(msg);
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  return resp.version();
}

absl::StatusOr<std::string> PeerModelRegistrar::Transition(const std::string& model,
                                                           int64_t version, rv1::Stage stage,
                                                           const std::string& reason) {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::milliseconds(120000));
  rv1::RequestTransitionRequest req;
  req.mutable_version()->set_model(model);
  req.mutable_version()->set_version(version);
  req.set_target_stage(stage);
  req.set_reason(reason.substr(0, 1024));
  rv1::TransitionRequest resp;
  grpc::Status s = stub->RequestTransition(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  std::string detail = rv1::TransitionStatus_Name(resp.status());
  for (const rv1::CheckResult& c : resp.gate_report().checks()) {
    absl::StrAppend(&detail, detail.find(':') == std::string::npos ? ": " : "; ", c.name(), ": ",
                    absl::StrFormat("%.4g", c.measured()));
  }
  return detail;
}

absl::StatusOr<std::string> PeerModelRegistrar::RequestStage(const std::string& model,
                                                             int64_t version,
                                                             const std::string& stage,
                                                             const std::string& reason) {
  if (stage != "staging" && stage != "production") {
    return absl::InvalidArgumentError(
        absl::StrCat("register_model.transition_to_stage: \"", stage, "\" is not staging or production"));
  }
  MLOPS_ASSIGN_OR_RETURN(std::string staged, Transition(model, version, rv1::STAGE_STAGING, reason));
  if (stage == "staging" || staged.rfind("TRANSITION_STATUS_GRANTED", 0) != 0) return staged;
  return Transition(model, version, rv1::STAGE_PRODUCTION, reason);
}

absl::StatusOr<rv1::ModelVersion> PeerModelRegistrar::GetProductionVersion(const std::string& model) {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::milliseconds(30000));
  rv1::GetModelVersionRequest req;
  req.set_model(model);
  req.set_stage(rv1::STAGE_PRODUCTION);
  rv1::ModelVersion resp;
  grpc::Status s = stub->GetModelVersion(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

absl::StatusOr<std::string> PeerModelRegistrar::GetArtifact(const std::string& model, int64_t version,
                                                            const std::string& expected_sha256) {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::milliseconds(120000));
  rv1::GetArtifactRequest req;
  req.mutable_version()->set_model(model);
  req.mutable_version()->set_version(version);
  req.set_purpose(rv1::ARTIFACT_READ_PURPOSE_INSPECTION);
  auto reader = stub->GetArtifact(ctx.get(), req);
  rv1::GetArtifactResponse msg;
  std::string bytes;
  std::string info_sha;
  while (reader->Read(&msg)) {
    if (msg.has_info()) info_sha = msg.info().sha256();
    else bytes += msg.chunk();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  const std::string got = Sha256Hex(bytes);
  if (got != expected_sha256 || (!info_sha.empty() && info_sha != expected_sha256)) {
    return absl::DataLossError(absl::StrCat("artifact of ", model, "@", version, ": sha256 ", got,
                                            ", expected ", expected_sha256));
  }
  return bytes;
}

absl::Status PeerModelRegistrar::AddEvaluation(const std::string& model, int64_t version,
                                               const rv1::Evaluation& evaluation) {
  auto stub = rv1::RegistryService::NewStub(registry_->channel());
  std::unique_ptr<grpc::ClientContext> ctx = registry_->NewContext(std::chrono::milliseconds(30000));
  rv1::AddEvaluationRequest req;
  req.mutable_version()->set_model(model);
  req.mutable_version()->set_version(version);
  *req.mutable_evaluation() = evaluation;
  rv1::ModelVersion resp;
  return FromGrpcStatus(stub->AddEvaluation(ctx.get(), req, &resp));
}

}  // namespace mlops::training
