#include "services/features/online_server.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/absl_view.h"
#include "services/features/feature_refs.h"
#include "services/features/online_wire.h"
#include "services/features/proto_convert.h"

namespace mlops::features {

// One view of a request shape, resolved against the catalog.
struct OnlineServer::Plan {
  struct View {
    const LoadedView* loaded = nullptr;  // owned by `catalog` (alive while it is)
    std::vector<size_t> features;        // definition indices, request order
    std::vector<uint8_t> raw;            // per entry of `features`: a raw feature (TTL applies)
    int key_column = 0;                  // index into entity_columns
    cv1::DataType key_type = cv1::DATA_TYPE_INT64;
  };
  // The catalog the views were resolved in: the plan serves a call only while
  // that catalog is the current one (which then owns every `loaded`).
  std::weak_ptr<const OnlineCatalog> catalog;
  std::vector<View> views;
  int arity = 1;              // values per entity row
  size_t values_per_row = 0;  // output columns
  std::string columns_bytes;  // GetOnlineFeaturesResponse.columns (field 1), serialized
  std::string views_bytes;    // GetOnlineFeaturesResponse.views (field 3), serialized
};

namespace {

// The request's shape: its refs and entity column names, each length-prefixed
// (so that no two shapes share a key).
std::string ShapeKey(const v1::GetOnlineFeaturesRequest& req) {
  std::string key;
  auto add = [&key](const std::string& s) {
    char len[wire::kMaxVarint];
    key.append(len, static_cast<size_t>(wire::PutVarint(len, s.size()) - len));
    key += s;
  };
  add(std::to_string(req.entity_columns_size()));
  for (const std::string& c : req.entity_columns()) add(c);
  for (const std::string& r : req.feature_refs()) add(r);
  return key;
}

bool SameCatalog(const std::weak_ptr<const OnlineCatalog>& a,
                 const std::shared_ptr<const OnlineCatalog>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

OnlineServer::OnlineServer(const OnlineViews* online, const ViewRegistry* views,
                           FeaturesMetrics* metrics, int max_entities)
    : online_(online), views_(views), metrics_(metrics), max_entities_(max_entities) {}

OnlineServer::~OnlineServer() = default;

std::shared_ptr<const OnlineServer::Plan> OnlineServer::PlanCache::Find(
    const std::string& shape, const std::shared_ptr<const OnlineCatalog>& catalog) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = plans_.find(shape);
  if (it == plans_.end() || !SameCatalog(it->second->catalog, catalog)) return nullptr;
  return it->second;
}

void OnlineServer::PlanCache::Put(std::string shape, std::shared_ptr<const Plan> plan) {
  absl::MutexLock lock(&mu_);
  // Plans of an older catalog never serve again: drop them (they hold no
  // snapshot, only a weak reference to their catalog).
  for (auto it = plans_.begin(); it != plans_.end();) {
    auto next = std::next(it);
    if (it->second->catalog.owner_before(plan->catalog) ||
        plan->catalog.owner_before(it->second->catalog)) {
      plans_.erase(it);
    }
    it = next;
  }
  if (plans_.size() >= kMaxEntries) plans_.clear();
  plans_.insert_or_assign(std::move(shape), std::move(plan));
}

absl::Status OnlineServer::CheckRows(const v1::GetOnlineFeaturesRequest& req) const {
  const int n = req.entity_rows_size();
  if (n == 0) return absl::InvalidArgumentError("entity_rows: at least one is required");
  if (n > max_entities_) {
    return absl::InvalidArgumentError(absl::StrCat("entity_rows: ", n, " rows, the limit is ",
                                                   max_entities_, " (--max_online_entities)"));
  }
  if (req.request_time_micros() != 0 && !TimeInRange(req.request_time_micros())) {
    return absl::InvalidArgumentError("request_time_micros: timestamp out of range");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const OnlineServer::Plan>> OnlineServer::PlanFor(
    const v1::GetOnlineFeaturesRequest& req, const std::shared_ptr<const OnlineCatalog>& catalog,
    bool* deferred) const {
  std::string shape = ShapeKey(req);
  std::shared_ptr<const Plan> plan = plans_.Find(shape, catalog);
  if (plan != nullptr) {
    MLOPS_RETURN_IF_ERROR(CheckRows(req));
    return plan;
  }
  MLOPS_ASSIGN_OR_RETURN(plan, BuildPlan(req, catalog, deferred));
  plans_.Put(std::move(shape), plan);
  return plan;
}

absl::StatusOr<std::shared_ptr<const OnlineServer::Plan>> OnlineServer::BuildPlan(
    const v1::GetOnlineFeaturesRequest& req, const std::shared_ptr<const OnlineCatalog>& catalog,
    bool* deferred) const {
  MLOPS_ASSIGN_OR_RETURN(ParsedRefs parsed, ParseFeatureRefs(req.feature_refs()));
  MLOPS_RETURN_IF_ERROR(CheckRows(req));
  auto plan = std::make_shared<Plan>();
  plan->catalog = catalog;
  plan->arity = std::max(1, req.entity_columns_size());
  v1::GetOnlineFeaturesResponse columns, views;
  for (const ViewRefs& g : parsed.views) {
    Plan::View sv;
    auto it = catalog->find(g.view);
    if (it != catalog->end() && !it->second.empty()) {
      auto v = g.version == 0 ? std::prev(it->second.end()) : it->second.find(g.version);
      if (v != it->second.end()) sv.loaded = v->second.get();
      const int64_t newest = it->second.rbegin()->first;
      if (g.mixed && newest != g.version) return TwoVersionsError(g, newest);
    }
    if (sv.loaded == nullptr) {
      // Error path only: unknown view/version, or not materialized here yet.
      if (deferred != nullptr) {
        *deferred = true;
        return absl::UnavailableError("deferred: the answer needs the view registry");
      }
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
      if (plan->arity != 1) {
        return absl::InvalidArgumentError(absl::StrCat(
            "entity_columns: none is named \"", d.entity_column, "\" (the key of view \"",
            d.name, "\") and there are several"));
      }
      sv.key_column = 0;
    }
    for (size_t f : sv.features) {
      sv.raw.push_back(d.features[f].aggregation == Aggregation::kRaw ? 1 : 0);
      v1::OnlineFeatureColumn* c = columns.add_columns();
      c->set_ref(absl::StrCat(d.name, "@", d.version, ":", d.features[f].name));
      c->set_view(d.name);
      c->set_version(d.version);
      c->set_feature(d.features[f].name);
      c->set_type(DataTypeToProto(sv.loaded->snapshot->type(f)));
    }
    v1::ViewVersionUsed* used = views.add_views();
    used->set_view(d.name);
    used->set_version(d.version);
    used->set_source_dataset_version_id(sv.loaded->source_version_id);
    used->set_materialized_as_of_micros(sv.loaded->snapshot->as_of_micros());
    plan->values_per_row += sv.features.size();
    plan->views.push_back(std::move(sv));
  }
  plan->columns_bytes = columns.SerializeAsString();
  plan->views_bytes = views.SerializeAsString();
  return std::shared_ptr<const Plan>(std::move(plan));
}

absl::StatusOr<std::string> OnlineServer::GetSerialized(const v1::GetOnlineFeaturesRequest& req,
                                                        bool* deferred) const {
  const auto start = std::chrono::steady_clock::now();
  // Kept alive for the call: it owns every view the plan points at.
  const std::shared_ptr<const OnlineCatalog> catalog = online_->Load();
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan_ptr, PlanFor(req, catalog, deferred));
  const Plan& plan = *plan_ptr;
  const int n = req.entity_rows_size();
  const int64_t now =
      req.request_time_micros() == 0 ? views_->NowMicros() : req.request_time_micros();
  if (!TimeInRange(now)) {
    return absl::InvalidArgumentError("request_time_micros: timestamp out of range");
  }

  // Pass 1, in request order (so the first bad row is the one reported):
  // check every key and find its snapshot row in each view. The look-ups
  // are random accesses: a key's hash slot is prefetched a few rows ahead,
  // and each row found is prefetched for pass 2.
  const size_t num_views = plan.views.size();
  std::vector<int32_t> ids(static_cast<size_t>(n) * num_views);
  int64_t known = 0, unknown = 0;
  constexpr int kPrefetchAhead = 4;
  for (int r = 0; r < n; ++r) {
    if (r + kPrefetchAhead < n) {
      const cv1::Row& ahead = req.entity_rows(r + kPrefetchAhead);
      for (const Plan::View& sv : plan.views) {
        if (sv.key_column < ahead.values_size() &&
            ahead.values(sv.key_column).kind_case() == cv1::Value::kInt64Value) {
          sv.loaded->snapshot->PrefetchKey(ahead.values(sv.key_column).int64_value());
        }
      }
    }
    const cv1::Row& row = req.entity_rows(r);
    if (row.values_size() != plan.arity) {
      return absl::InvalidArgumentError(absl::StrCat("entity_rows[", r, "]: ", row.values_size(),
                                                     " values, expected ", plan.arity));
    }
    for (size_t v = 0; v < num_views; ++v) {
      const Plan::View& sv = plan.views[v];
      const cv1::Value& key = row.values(sv.key_column);
      if (key.kind_case() == cv1::Value::KIND_NOT_SET ||
          static_cast<int>(key.kind_case()) != static_cast<int>(sv.key_type)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "entity_rows[", r, "]: view \"", sv.loaded->view.definition.name, "\" expects a ",
            Av(DataTypeName(static_cast<DataType>(sv.key_type))), " key, got ",
            key.kind_case() == cv1::Value::KIND_NOT_SET
                ? absl::string_view("NULL")
                : Av(DataTypeName(static_cast<DataType>(key.kind_case())))));
      }
      const OnlineSnapshot& snap = *sv.loaded->snapshot;
      const int32_t id = key.kind_case() == cv1::Value::kInt64Value
                             ? snap.FindRow(key.int64_value())
                             : snap.FindRow(std::string_view(key.string_value()));
      ids[static_cast<size_t>(r) * num_views + v] = id;
      if (id >= 0) {
        snap.PrefetchRow(id);
        __builtin_prefetch(&sv.loaded->last_event_micros[static_cast<size_t>(id)]);
      }
      (id < 0 ? unknown : known) += 1;
    }
  }

  // Pass 2: the wire format, row by row (online_wire.h).
  wire::WireBuffer out, row;
  out.Reserve(plan.columns_bytes.size() + plan.views_bytes.size() +
              static_cast<size_t>(n) * (plan.values_per_row * 12 + 16));
  out.Append(plan.columns_bytes);
  std::vector<uint8_t> statuses(plan.values_per_row);
  for (int r = 0; r < n; ++r) {
    row.Clear();
    size_t k = 0;  // output column
    for (size_t v = 0; v < num_views; ++v) {
      const Plan::View& sv = plan.views[v];
      const int32_t id = ids[static_cast<size_t>(r) * num_views + v];
      const OnlineSnapshot& snap = *sv.loaded->snapshot;
      const int64_t ttl = sv.loaded->view.definition.ttl_micros;
      const bool expired =
          id >= 0 && ttl > 0 && now - sv.loaded->last_event_micros[static_cast<size_t>(id)] > ttl;
      row.Reserve(sv.features.size() * wire::kMaxValueBytes);
      char* p = row.cursor();
      for (size_t j = 0; j < sv.features.size(); ++j) {
        const size_t f = sv.features[j];
        ValueStatus status = id < 0 ? ValueStatus::kEntityUnknown : snap.StatusAt(id, f);
        if (expired && sv.raw[j] != 0) status = ValueStatus::kExpired;
        statuses[k++] = static_cast<uint8_t>(status);
        if (status != ValueStatus::kPresent) {
          p = wire::PutNullValue(p);
          continue;
        }
        switch (snap.type(f)) {  // typed reads: no Value variant, no string copy
          case DataType::kDouble: p = wire::PutDoubleValue(p, snap.DoubleAt(id, f)); break;
          case DataType::kInt64:
            p = wire::PutVarintValue(p, wire::kInt64Tag, static_cast<uint64_t>(snap.IntAt(id, f)));
            break;
          case DataType::kTimestamp:
            p = wire::PutVarintValue(p, wire::kTimestampTag,
                                     static_cast<uint64_t>(snap.IntAt(id, f)));
            break;
          case DataType::kBool:
            p = wire::PutVarintValue(p, wire::kBoolTag, snap.IntAt(id, f) != 0 ? 1 : 0);
            break;
          case DataType::kString: {
            const std::string& s = snap.StringAt(id, f);
            row.Advance(p);
            row.Reserve(s.size() + 2 + 2 * wire::kMaxVarint +
                        (sv.features.size() - j) * wire::kMaxValueBytes);
            p = wire::PutStringValue(row.cursor(), s);
            break;
          }
        }
      }
      row.Advance(p);
    }
    if (k > 0) {  // statuses: packed, one byte each (values 1..4)
      row.Reserve(1 + wire::kMaxVarint + k);
      char* p = row.cursor();
      *p++ = static_cast<char>(wire::kRowStatusesTag);
      p = wire::PutVarint(p, k);
      std::memcpy(p, statuses.data(), k);
      row.Advance(p + k);
    }
    out.AppendField(wire::kResponseRowsTag, row.view());
  }
  out.Append(plan.views_bytes);
  if (metrics_ != nullptr) {
    metrics_->EntityLookups(known, unknown);
    metrics_->OnlineRequest(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), n);
  }
  return out.Release();
}

absl::Status OnlineServer::Get(const v1::GetOnlineFeaturesRequest& req,
                               v1::GetOnlineFeaturesResponse* resp) const {
  MLOPS_ASSIGN_OR_RETURN(std::string bytes, GetSerialized(req));
  if (!resp->ParseFromString(bytes)) {
    return absl::InternalError("GetOnlineFeatures: the serialized response does not parse");
  }
  return absl::OkStatus();
}

}  // namespace mlops::features
