#include "services/monitoring/training_data_clients.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"

namespace mlops::monitoring {

namespace fv1 = ::mlops::features::v1;
namespace rv1 = ::mlops::registry::v1;

absl::StatusOr<ModelInputs> ModelInputsOf(const rv1::ModelVersion& version) {
  ModelInputs out;
  out.model = version.model();
  out.version = version.version();
  out.dataset = version.lineage().training_dataset_name();
  out.dataset_version = version.lineage().training_dataset_version();
  out.entity_key = version.signature().entity_key().name();
  const std::string name = absl::StrCat(version.model(), "@", version.version());
  if (out.dataset_version.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": its lineage names no training dataset version"));
  }
  if (version.signature().inputs().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(name, ": its signature has no inputs"));
  }
  for (const rv1::SignatureInput& in : version.signature().inputs()) {
    out.inputs.push_back({in.name(), in.type(), in.feature_ref()});
  }
  const bool needs_dataset_name =
      std::any_of(out.inputs.begin(), out.inputs.end(),
                  [](const ModelInput& i) { return !i.feature_ref.empty(); });
  if (needs_dataset_name && out.dataset.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name, ": its lineage names no training dataset"));
  }
  return out;
}

GrpcModelVersionSource::GrpcModelVersionSource(std::shared_ptr<grpc::Channel> channel,
                                               DeadlineContextFactory new_context)
    : stub_(rv1::RegistryService::NewStub(std::move(channel))),
      new_context_(std::move(new_context)) {}

absl::StatusOr<ModelInputs> GrpcModelVersionSource::GetModelInputs(const std::string& model,
                                                                   int64_t version) {
  rv1::GetModelVersionRequest req;
  req.set_model(model);
  req.set_version(version);
  rv1::ModelVersion resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(std::chrono::seconds(10));
  grpc::Status s = stub_->GetModelVersion(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return ModelInputsOf(resp);
}

GrpcTrainingRowSource::GrpcTrainingRowSource(std::shared_ptr<grpc::Channel> channel,
                                             DeadlineContextFactory new_context,
                                             std::chrono::milliseconds deadline)
    : stub_(fv1::FeatureService::NewStub(std::move(channel))),
      new_context_(std::move(new_context)),
      deadline_(deadline) {}

absl::StatusOr<v1::InlineRows> GrpcTrainingRowSource::SampleInputs(const ModelInputs& inputs,
                                                                   int64_t max_rows) {
  if (max_rows <= 0) return absl::InvalidArgumentError("max_rows: not positive");
  fv1::GetHistoricalFeaturesRequest req;
  req.mutable_dataset()->set_dataset(inputs.dataset);
  req.mutable_dataset()->set_version_id(inputs.dataset_version);  // all columns, passed through
  req.set_entity_key_column(inputs.entity_key);
  std::vector<int> ref_of_input(inputs.inputs.size(), -1);  // index among the feature refs
  for (size_t i = 0; i < inputs.inputs.size(); ++i) {
    if (inputs.inputs[i].feature_ref.empty()) continue;
    ref_of_input[i] = req.feature_refs_size();
    req.add_feature_refs(inputs.inputs[i].feature_ref);
  }
  v1::InlineRows rows;
  for (const ModelInput& in : inputs.inputs) {
    common::v1::Column* c = rows.mutable_schema()->add_columns();
    c->set_name(in.name);
    c->set_type(in.type);
    c->set_nullable(true);
  }
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(deadline_);
  std::unique_ptr<grpc::ClientReader<fv1::GetHistoricalFeaturesResponse>> reader =
      stub_->GetHistoricalFeatures(ctx.get(), req);
  fv1::GetHistoricalFeaturesResponse message;
  std::vector<int> column_of_input;  // position in the output rows
  int64_t stride = 1;
  int64_t index = 0;
  bool header_seen = false;
  absl::Status bad;
  while (bad.ok() && reader->Read(&message)) {
    if (message.has_header()) {
      const common::v1::Schema& schema = message.header().schema();
      const int passed = schema.columns_size() - req.feature_refs_size();
      if (passed < 0) {
        bad = absl::InternalError("historical features header: fewer columns than feature refs");
        break;
      }
      std::map<std::string, int> passed_by_name;
      for (int c = 0; c < passed; ++c) passed_by_name.emplace(schema.columns(c).name(), c);
      column_of_input.clear();
      for (size_t i = 0; i < inputs.inputs.size() && bad.ok(); ++i) {
        if (ref_of_input[i] >= 0) {
          column_of_input.push_back(passed + ref_of_input[i]);
          continue;
        }
        auto it = passed_by_name.find(inputs.inputs[i].name);
        if (it == passed_by_name.end()) {
          bad = absl::FailedPreconditionError(
              absl::StrCat("dataset ", inputs.dataset, " has no column \"", inputs.inputs[i].name,
                           "\" (a raw input of ", inputs.model, "@", inputs.version, ")"));
        }
        if (bad.ok()) column_of_input.push_back(it->second);
      }
      stride = std::max<int64_t>(1, (message.header().row_count() + max_rows - 1) / max_rows);
      header_seen = true;
      continue;
    }
    if (!header_seen) {
      bad = absl::InternalError("historical features: a chunk before the header");
      break;
    }
    for (const common::v1::Row& row : message.chunk().rows()) {
      if (index++ % stride != 0 || rows.rows_size() >= max_rows) continue;
      common::v1::Row* out = rows.add_rows();
      for (int c : column_of_input) {
        if (c >= row.values_size()) {
          bad = absl::InternalError(
              absl::StrCat("historical features: row ", index - 1, " has ", row.values_size(),
                           " values"));
          break;
        }
        *out->add_values() = row.values(c);
      }
    }
  }
  if (!bad.ok()) {
    ctx->TryCancel();
    reader->Finish();  // ends the cancelled call; its status is the cancellation
    return bad;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  if (!header_seen) return absl::InternalError("historical features: no header");
  return rows;
}

}  // namespace mlops::monitoring
