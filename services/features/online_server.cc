#include "services/features/online_server.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/absl_view.h"
#include "services/features/feature_refs.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// One view of the request, resolved against the catalog.
struct ServedView {
  const LoadedView* loaded = nullptr;
  std::vector<size_t> features;  // definition indices, request order
  int key_column = 0;            // index into entity_columns
  cv1::DataType key_type = cv1::DATA_TYPE_INT64;
};

}  // namespace

absl::Status OnlineServer::Get(const v1::GetOnlineFeaturesRequest& req,
                               v1::GetOnlineFeaturesResponse* out_resp) const {
  const auto start = std::chrono::steady_clock::now();
  MLOPS_ASSIGN_OR_RETURN(ParsedRefs parsed, ParseFeatureRefs(req.feature_refs()));
  const int n = req.entity_rows_size();
  if (n == 0) return absl::InvalidArgumentError("entity_rows: at least one is required");
  if (n > max_entities_) {
    return absl::InvalidArgumentError(absl::StrCat("entity_rows: ", n, " rows, the limit is ",
                                                   max_entities_, " (--max_online_entities)"));
  }
  const int64_t now = req.request_time_micros() == 0 ? views_->NowMicros()
                                                     : req.request_time_micros();
  if (!TimeInRange(now)) {
    return absl::InvalidArgumentError("request_time_micros: timestamp out of range");
  }
  const int arity = std::max(1, req.entity_columns_size());
  std::shared_ptr<const OnlineCatalog> catalog = online_->Load();  // kept alive for the call
  std::vector<ServedView> served;
  v1::GetOnlineFeaturesResponse& resp = *out_resp;
  for (const ViewRefs& g : parsed.views) {
    ServedView sv;
    auto it = catalog->find(g.view);
    if (it != catalog->end() && !it->second.empty()) {
      auto v = g.version == 0 ? std::prev(it->second.end()) : it->second.find(g.version);
      if (v != it->second.end()) sv.loaded = v->second.get();
      const int64_t newest = it->second.rbegin()->first;
      if (g.mixed && newest != g.version) return TwoVersionsError(g, newest);
    }
    if (sv.loaded == nullptr) {
      // Error path only: unknown view/version, or not materialized here yet.
      MLOPS_RETURN_IF_ERROR(views_->Get(g.view, g.version).status());
      return absl::FailedPreconditionError(absl::StrCat(
          "view ", g.view, g.version == 0 ? "" : absl::StrCat("@", g.version),
          " has no materialized data loaded in this replica yet"));
    }
    const FeatureViewDefinition& d = sv.loaded->view.definition;
    for (int i : g.ref_indices) {
      const std::string& name = parsed.refs[i].feature;
      if (name == "*") {
        for (size_t f = 0; f < d.features.size(); ++f) sv.features.push_back(f);
        continue;
      }
      const int f = sv.loaded->snapshot->FindFeature(name);
      if (f < 0) {
        return absl::NotFoundError(absl::StrCat("feature_refs[", i, "]: view ", d.name, "@",
                                                d.version, " has no feature \"", name, "\""));
      }
      sv.features.push_back(static_cast<size_t>(f));
    }
    sv.key_type = sv.loaded->view.view.entity_key_type();
    sv.key_column = -1;
    for (int c = 0; c < req.entity_columns_size(); ++c) {
      if (req.entity_columns(c) == d.entity_column) sv.key_column = c;
    }
    if (sv.key_column < 0) {
      if (arity != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "entity_columns: none is named \"", d.entity_column, "\" (the key of view \"",
            d.name, "\") and there are several"));
      }
      sv.key_column = 0;
    }
    for (size_t f : sv.features) {
      v1::OnlineFeatureColumn* c = resp.add_columns();
      c->set_ref(absl::StrCat(d.name, "@", d.version, ":", d.features[f].name));
      c->set_view(d.name);
      c->set_version(d.version);
      c->set_feature(d.features[f].name);
      c->set_type(DataTypeToProto(sv.loaded->snapshot->type(f)));
    }
    v1::ViewVersionUsed* used = resp.add_views();
    used->set_view(d.name);
    used->set_version(d.version);
    used->set_source_dataset_version_id(sv.loaded->source_version_id);
    used->set_materialized_as_of_micros(sv.loaded->snapshot->as_of_micros());
    served.push_back(std::move(sv));
  }
  int64_t known = 0, unknown = 0;
  size_t values_per_row = 0;
  for (const ServedView& sv : served) values_per_row += sv.features.size();
  resp.mutable_rows()->Reserve(n);
  for (int r = 0; r < n; ++r) {
    const cv1::Row& row = req.entity_rows(r);
    if (row.values_size() != arity) {
      return absl::InvalidArgumentError(absl::StrCat("entity_rows[", r, "]: ", row.values_size(),
                                                     " values, expected ", arity));
    }
    v1::OnlineFeatureRow* out = resp.add_rows();
    out->mutable_values()->Reserve(static_cast<int>(values_per_row));
    out->mutable_statuses()->Reserve(static_cast<int>(values_per_row));
    for (const ServedView& sv : served) {
      const cv1::Value& key = row.values(sv.key_column);
      const FeatureViewDefinition& d = sv.loaded->view.definition;
      if (key.kind_case() == cv1::Value::KIND_NOT_SET ||
          static_cast<int>(key.kind_case()) != static_cast<int>(sv.key_type)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "entity_rows[", r, "]: view \"", d.name, "\" expects a ",
            Av(DataTypeName(static_cast<DataType>(sv.key_type))), " key, got ",
            key.kind_case() == cv1::Value::KIND_NOT_SET
                ? absl::string_view("NULL")
                : Av(DataTypeName(static_cast<DataType>(key.kind_case())))));
      }
      const OnlineSnapshot& snap = *sv.loaded->snapshot;
      const int32_t id = key.kind_case() == cv1::Value::kInt64Value
                             ? snap.FindRow(key.int64_value())
                             : snap.FindRow(std::string_view(key.string_value()));
      (id < 0 ? unknown : known) += 1;
      const bool expired = id >= 0 && d.ttl_micros > 0 &&
                           now - sv.loaded->last_event_micros[static_cast<size_t>(id)] > d.ttl_micros;
      for (size_t f : sv.features) {
        cv1::Value* value = out->add_values();
        ValueStatus status = id < 0 ? ValueStatus::kEntityUnknown : snap.StatusAt(id, f);
        if (expired && d.features[f].aggregation == Aggregation::kRaw) {
          status = ValueStatus::kExpired;
        }
        out->add_statuses(static_cast<v1::FeatureStatus>(status));
        if (status != ValueStatus::kPresent) continue;
        switch (snap.type(f)) {  // typed reads: no Value variant, no string copy
          case DataType::kInt64: value->set_int64_value(snap.IntAt(id, f)); break;
          case DataType::kDouble: value->set_double_value(snap.DoubleAt(id, f)); break;
          case DataType::kString: value->set_string_value(snap.StringAt(id, f)); break;
          case DataType::kBool: value->set_bool_value(snap.IntAt(id, f) != 0); break;
          case DataType::kTimestamp: value->set_timestamp_micros(snap.IntAt(id, f)); break;
        }
      }
    }
  }
  if (metrics_ != nullptr) {
    metrics_->EntityLookups(known, unknown);
    metrics_->OnlineRequest(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), n);
  }
  return absl::OkStatus();
}

}  // namespace mlops::features
