#include "services/features/online_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/proto_convert.h"

namespace mlops::features {

void OnlineViews::Put(std::shared_ptr<const LoadedView> view) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto next = std::make_shared<OnlineCatalog>(*Load());
  (*next)[view->view.definition.name][view->view.definition.version] = std::move(view);
  std::atomic_store(&catalog_, std::shared_ptr<const OnlineCatalog>(std::move(next)));
}

int64_t OnlineViews::LoadedRun(const std::string& view, int64_t version) const {
  std::shared_ptr<const OnlineCatalog> catalog = Load();
  auto it = catalog->find(view);
  if (it == catalog->end()) return 0;
  auto v = it->second.find(version);
  return v == it->second.end() ? 0 : v->second->run_id;
}

std::vector<int64_t> LastEventTimes(const OnlineSnapshot& snapshot, const EventTable& table) {
  std::vector<int64_t> out(snapshot.num_entities(), 0);
  const Buffer<int64_t>& times = table.event_times();
  for (size_t r = 0; r < out.size(); ++r) {
    const int32_t e = table.entities().Find(snapshot.keys().KeyAt(static_cast<int32_t>(r)));
    if (e < 0) continue;
    auto begin = times.begin() + table.EntityBegin(e);
    auto end = times.begin() + table.EntityEnd(e);
    auto it = std::upper_bound(begin, end, snapshot.as_of_micros());
    if (it != begin) out[r] = *(it - 1);
  }
  return out;
}

std::vector<OnlineChunk> EncodeOnlineChunks(const LoadedView& view, size_t chunk_entities,
                                            ThreadPool* pool) {
  const OnlineSnapshot& s = *view.snapshot;
  std::vector<OnlineChunk> out((s.num_entities() + chunk_entities - 1) / chunk_entities);
  ParallelForOrInline(pool, static_cast<int64_t>(out.size()), [&](int64_t c) {
    const size_t begin = static_cast<size_t>(c) * chunk_entities;
    const size_t end = std::min(s.num_entities(), begin + chunk_entities);
    v1::FeatureRowChunk chunk;
    chunk.set_first_row_index(static_cast<int64_t>(begin));
    OnlineChunk oc;
    oc.entity_count = static_cast<int32_t>(end - begin);
    oc.statuses.reserve((end - begin) * s.num_features());
    for (size_t r = begin; r < end; ++r) {
      const auto row = static_cast<int32_t>(r);
      cv1::Row* out_row = chunk.add_rows();
      const EntityKey key = s.keys().KeyAt(row);
      if (key.index() == 0) {
        out_row->add_values()->set_int64_value(std::get<int64_t>(key));
      } else {
        out_row->add_values()->set_string_value(std::get<std::string>(key));
      }
      out_row->add_values()->set_timestamp_micros(view.last_event_micros[r]);
      for (size_t f = 0; f < s.num_features(); ++f) {
        const FeatureValue v = s.Get(row, f);
        ValueToProto(v.value, out_row->add_values());
        oc.statuses.push_back(static_cast<char>(v.status));
      }
    }
    oc.chunk = chunk.SerializeAsString();
    out[static_cast<size_t>(c)] = std::move(oc);
  });
  return out;
}

absl::StatusOr<std::shared_ptr<const LoadedView>> DecodeOnlineChunks(
    const ResolvedView& view, const RunRecord& run, const std::vector<OnlineChunk>& chunks) {
  const FeatureViewDefinition& d = view.definition;
  const size_t n = d.features.size();
  MLOPS_ASSIGN_OR_RETURN(DataType key_type, DataTypeFromProto(view.view.entity_key_type()));
  std::vector<DataType> types;
  std::vector<std::string> names;
  std::vector<FeatureColumn> columns;
  for (size_t f = 0; f < n; ++f) {
    MLOPS_ASSIGN_OR_RETURN(
        DataType t,
        DataTypeFromProto(view.view.feature_schema().columns(static_cast<int>(f)).type()));
    types.push_back(t);
    names.push_back(d.features[f].name);
    columns.emplace_back(t);
  }
  auto out = std::make_shared<LoadedView>();
  ColumnVector keys(key_type);
  size_t row = 0;
  for (const OnlineChunk& oc : chunks) {
    v1::FeatureRowChunk chunk;
    if (!chunk.ParseFromString(oc.chunk) ||
        oc.statuses.size() != static_cast<size_t>(chunk.rows_size()) * n) {
      return absl::DataLossError(absl::StrCat("online chunk of run ", run.id, " is corrupt"));
    }
    for (int i = 0; i < chunk.rows_size(); ++i, ++row) {
      const cv1::Row& r = chunk.rows(i);
      if (static_cast<size_t>(r.values_size()) != n + 2) {
        return absl::DataLossError(absl::StrCat("online row of run ", run.id, " is corrupt"));
      }
      const std::string where = absl::StrCat("run ", run.id, " row ", row);
      MLOPS_ASSIGN_OR_RETURN(Value key, ValueFromProto(r.values(0), key_type, where));
      AppendToColumn(key, &keys);
      out->last_event_micros.push_back(r.values(1).timestamp_micros());
      for (size_t f = 0; f < n; ++f) {
        MLOPS_ASSIGN_OR_RETURN(Value v,
                               ValueFromProto(r.values(static_cast<int>(f) + 2), types[f], where));
        FeatureColumn& c = columns[f];
        c.Resize(row + 1);
        c.status[row] = static_cast<ValueStatus>(oc.statuses[static_cast<size_t>(i) * n + f]);
        if (v.index() == 0) continue;
        switch (types[f]) {
          case DataType::kInt64: c.values.ints[row] = std::get<int64_t>(v); break;
          case DataType::kDouble: c.values.doubles[row] = std::get<double>(v); break;
          case DataType::kString: c.values.strings[row] = std::get<std::string>(v); break;
          case DataType::kBool: c.values.ints[row] = std::get<bool>(v) ? 1 : 0; break;
          case DataType::kTimestamp: c.values.ints[row] = std::get<TimestampMicros>(v).micros; break;
        }
      }
    }
  }
  MLOPS_ASSIGN_OR_RETURN(out->snapshot,
                         OnlineSnapshot::FromRows(d.name, d.version, run.as_of_micros,
                                                  std::move(names), keys, std::move(columns)));
  out->view = view;
  out->source_version_id = run.source_version_id;
  out->run_id = run.id;
  return std::shared_ptr<const LoadedView>(std::move(out));
}

}  // namespace mlops::features
