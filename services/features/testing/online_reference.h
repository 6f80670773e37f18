#pragma once
// ReferenceOnlineResponse: GetOnlineFeaturesResponse for a valid request,
// built the plain way, through the protobuf message API (a Value message per
// cell, a status per value), straight from the snapshots of `catalog`. The
// server writes the wire format itself (online_server.cc); tests check its
// bytes against this message's serialization, and the benchmark times both.
// For tests and benchmarks only; header-only.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/feature_refs.h"
#include "services/features/online_store.h"
#include "services/features/proto_convert.h"

namespace mlops::features::testing {

// `req` must be valid (refs resolve in `catalog`, keys of the right type);
// `now` = the request time. Builds into `resp` (may live on an arena).
inline void ReferenceOnlineResponse(const OnlineCatalog& catalog,
                                    const v1::GetOnlineFeaturesRequest& req, int64_t now,
                                    v1::GetOnlineFeaturesResponse* resp) {
  ParsedRefs parsed = *ParseFeatureRefs(req.feature_refs());
  struct Served {
    const LoadedView* loaded;
    std::vector<size_t> features;
    int key_column;
  };
  std::vector<Served> served;
  for (const ViewRefs& g : parsed.views) {
    const auto& versions = catalog.at(g.view);
    const LoadedView* loaded =
        (g.version == 0 ? versions.rbegin()->second : versions.at(g.version)).get();
    const FeatureViewDefinition& d = loaded->view.definition;
    Served sv{loaded, {}, 0};
    for (int i : g.ref_indices) {
      if (parsed.refs[i].feature == "*") {
        for (size_t f = 0; f < d.features.size(); ++f) sv.features.push_back(f);
      } else {
        const int f = loaded->snapshot->FindFeature(parsed.refs[i].feature);
        sv.features.push_back(static_cast<size_t>(f));
      }
    }
    for (int c = 0; c < req.entity_columns_size(); ++c) {
      if (req.entity_columns(c) == d.entity_column) sv.key_column = c;
    }
    for (size_t f : sv.features) {
      v1::OnlineFeatureColumn* c = resp->add_columns();
      c->set_ref(absl::StrCat(d.name, "@", d.version, ":", d.features[f].name));
      c->set_view(d.name);
      c->set_version(d.version);
      c->set_feature(d.features[f].name);
      c->set_type(DataTypeToProto(loaded->snapshot->type(f)));
    }
    v1::ViewVersionUsed* used = resp->add_views();
    used->set_view(d.name);
    used->set_version(d.version);
    used->set_source_dataset_version_id(loaded->source_version_id);
    used->set_materialized_as_of_micros(loaded->snapshot->as_of_micros());
    served.push_back(std::move(sv));
  }
  for (const cv1::Row& row : req.entity_rows()) {
    v1::OnlineFeatureRow* out = resp->add_rows();
    for (const Served& sv : served) {
      const cv1::Value& key = row.values(sv.key_column);
      const OnlineSnapshot& snap = *sv.loaded->snapshot;
      const FeatureViewDefinition& d = sv.loaded->view.definition;
      const int32_t id = key.kind_case() == cv1::Value::kInt64Value
                             ? snap.FindRow(key.int64_value())
                             : snap.FindRow(std::string_view(key.string_value()));
      const bool expired =
          id >= 0 && d.ttl_micros > 0 &&
          now - sv.loaded->last_event_micros[static_cast<size_t>(id)] > d.ttl_micros;
      for (size_t f : sv.features) {
        cv1::Value* value = out->add_values();
        FeatureValue fv = snap.Get(id, f);
        if (expired && d.features[f].aggregation == Aggregation::kRaw) {
          fv = FeatureValue{ValueStatus::kExpired, {}};
        }
        out->add_statuses(static_cast<v1::FeatureStatus>(fv.status));
        if (fv.status == ValueStatus::kPresent) ValueToProto(fv.value, value);
      }
    }
  }
}

}  // namespace mlops::features::testing
