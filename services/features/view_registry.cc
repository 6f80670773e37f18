#include "services/features/view_registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

absl::StatusOr<ResolvedView> Decode(const ViewRecord& record) {
  ResolvedView out;
  if (!out.view.ParseFromString(record.view_proto)) {
    return absl::InternalError(
        absl::StrCat("stored view ", record.name, "@", record.version, " does not parse"));
  }
  MLOPS_ASSIGN_OR_RETURN(out.definition, DefinitionFromView(out.view));
  return out;
}

}  // namespace

absl::StatusOr<std::pair<v1::FeatureView, bool>> ViewRegistry::Register(
    const v1::FeatureViewSpec& spec, const std::string& principal) {
  if (!IsValidName(spec.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: \"", spec.name(), "\" breaks the naming rule [a-z][a-z0-9_]{0,62}"));
  }
  if (!IsValidName(spec.source_dataset())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source_dataset: \"", spec.source_dataset(), "\" breaks the naming rule"));
  }
  absl::StatusOr<iv1::Dataset> dataset = ingestion_->GetDataset(spec.source_dataset());
  if (!dataset.ok()) {
    if (dataset.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat("source_dataset: dataset \"",
                                              spec.source_dataset(), "\" does not exist"));
    }
    return dataset.status();
  }
  MLOPS_ASSIGN_OR_RETURN(ResolvedSpec resolved, ResolveSpec(spec, dataset->schema()));
  const int64_t now = clock_();
  MLOPS_ASSIGN_OR_RETURN(
      auto stored,
      store_->PutViewVersion(spec.name(), resolved.definition_hash, spec.source_dataset(), now,
                             [&](int64_t version) {
                               v1::FeatureView view;
                               *view.mutable_spec() = resolved.spec;
                               view.set_version(version);
                               view.set_definition_hash(resolved.definition_hash);
                               *view.mutable_feature_schema() = resolved.feature_schema;
                               view.set_entity_key_type(DataTypeToProto(resolved.entity_key_type));
                               view.set_created_at_micros(now);
                               view.set_principal(principal);
                               return view.SerializeAsString();
                             }));
  MLOPS_ASSIGN_OR_RETURN(ResolvedView out, Decode(stored.first));
  return std::make_pair(std::move(out.view), stored.second);
}

absl::StatusOr<ResolvedView> ViewRegistry::Get(const std::string& name, int64_t version) const {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("name: \"", name, "\" breaks the naming rule"));
  }
  if (version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("version: ", version, " is negative"));
  }
  MLOPS_ASSIGN_OR_RETURN(ViewRecord record, store_->GetView(name, version));
  return Decode(record);
}

absl::StatusOr<v1::ListFeatureViewsResponse> ViewRegistry::List(
    const v1::ListFeatureViewsRequest& req) const {
  ListViewsQuery q;
  q.name_prefix = req.name_prefix();
  q.source_dataset = req.source_dataset();
  q.all_versions = req.all_versions();
  const int size = req.page().page_size();
  if (size < 0 || size > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("page.page_size: ", size, " not in [0, 1000]"));
  }
  q.limit = size == 0 ? 100 : size;
  if (!q.source_dataset.empty() && !IsValidName(q.source_dataset)) {
    return absl::InvalidArgumentError("source_dataset: breaks the naming rule");
  }
  const std::string& token = req.page().page_token();
  if (!token.empty()) {
    // Token: "<name>@<version>" of the last view of the previous page.
    const size_t at = token.rfind('@');
    if (at == std::string::npos || !IsValidName(token.substr(0, at)) ||
        !absl::SimpleAtoi(token.substr(at + 1), &q.after_version)) {
      return absl::InvalidArgumentError("page.page_token: malformed");
    }
    q.after_name = token.substr(0, at);
  }
  ++q.limit;  // one more tells whether a next page exists
  MLOPS_ASSIGN_OR_RETURN(std::vector<ViewRecord> records, store_->ListViews(q));
  v1::ListFeatureViewsResponse out;
  const size_t page = static_cast<size_t>(q.limit - 1);
  for (size_t i = 0; i < records.size() && i < page; ++i) {
    MLOPS_ASSIGN_OR_RETURN(ResolvedView v, Decode(records[i]));
    *out.add_views() = std::move(v.view);
  }
  if (records.size() > page) {
    out.set_next_page_token(absl::StrCat(records[page - 1].name, "@", records[page - 1].version));
  }
  return out;
}

}  // namespace mlops::features
