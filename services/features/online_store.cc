#include "services/features/online_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/proto_convert.h"

namespace mlops::features {

void OnlineViews::Put(std::shared_ptr<const LoadedView> view) {
  std::lock_guard<std::mutex> lock(write_mu_);
  auto next = std::make_shared<OnlineCatalog>(*Load());
  std::shared_ptr<const LoadedView>& slot =
      (*next)[view->view.definition.name][view->view.definition.version];
  // A reload racing a newer local run must not bring the older run back.
  if (slot != nullptr && slot->run_id > view->run_id) return;
  slot = std::move(view);
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

namespace {

// Appends [key, last event time, values...] of snapshot row `r` to `out`
// and its statuses to `statuses`.
void EncodeRow(const LoadedView& view, int32_t r, cv1::Row* out, std::string* statuses) {
  const OnlineSnapshot& s = *view.snapshot;
  const EntityKey key = s.keys().KeyAt(r);
  if (key.index() == 0) {
    out->add_values()->set_int64_value(std::get<int64_t>(key));
  } else {
    out->add_values()->set_string_value(std::get<std::string>(key));
  }
  out->add_values()->set_timestamp_micros(view.last_event_micros[static_cast<size_t>(r)]);
  for (size_t f = 0; f < s.num_features(); ++f) {
    const FeatureValue v = s.Get(r, f);
    ValueToProto(v.value, out->add_values());
    statuses->push_back(static_cast<char>(v.status));
  }
}

// Builds a LoadedView from decoded rows, in the order they are added.
class RowDecoder {
 public:
  static absl::StatusOr<RowDecoder> Create(const ResolvedView& view) {
    RowDecoder d;
    const FeatureViewDefinition& def = view.definition;
    MLOPS_ASSIGN_OR_RETURN(d.key_type_, DataTypeFromProto(view.view.entity_key_type()));
    d.keys_ = ColumnVector(d.key_type_);
    for (size_t f = 0; f < def.features.size(); ++f) {
      MLOPS_ASSIGN_OR_RETURN(
          DataType t,
          DataTypeFromProto(view.view.feature_schema().columns(static_cast<int>(f)).type()));
      d.types_.push_back(t);
      d.names_.push_back(def.features[f].name);
      d.columns_.emplace_back(t);
    }
    return d;
  }

  absl::Status Add(const cv1::Row& r, std::string_view statuses, const RunRecord& run) {
    const size_t n = types_.size();
    if (static_cast<size_t>(r.values_size()) != n + 2 || statuses.size() != n) {
      return absl::DataLossError(absl::StrCat("online row ", row_, " of run ", run.id,
                                              " is corrupt"));
    }
    const std::string where = absl::StrCat("run ", run.id, " row ", row_);
    MLOPS_ASSIGN_OR_RETURN(Value key, ValueFromProto(r.values(0), key_type_, where));
    AppendToColumn(key, &keys_);
    last_event_micros_.push_back(r.values(1).timestamp_micros());
    for (size_t f = 0; f < n; ++f) {
      MLOPS_ASSIGN_OR_RETURN(Value v,
                             ValueFromProto(r.values(static_cast<int>(f) + 2), types_[f], where));
      FeatureColumn& c = columns_[f];
      c.Resize(row_ + 1);
      c.status[row_] = static_cast<ValueStatus>(statuses[f]);
      if (v.index() == 0) continue;
      switch (types_[f]) {
        case DataType::kInt64: c.values.ints[row_] = std::get<int64_t>(v); break;
        case DataType::kDouble: c.values.doubles[row_] = std::get<double>(v); break;
        case DataType::kString: c.values.strings[row_] = std::get<std::string>(v); break;
        case DataType::kBool: c.values.ints[row_] = std::get<bool>(v) ? 1 : 0; break;
        case DataType::kTimestamp: c.values.ints[row_] = std::get<TimestampMicros>(v).micros; break;
      }
    }
    ++row_;
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<const LoadedView>> Finish(const ResolvedView& view,
                                                           const RunRecord& run) {
    const FeatureViewDefinition& d = view.definition;
    auto out = std::make_shared<LoadedView>();
    MLOPS_ASSIGN_OR_RETURN(out->snapshot,
                           OnlineSnapshot::FromRows(d.name, d.version, run.as_of_micros,
                                                    std::move(names_), keys_,
                                                    std::move(columns_)));
    out->last_event_micros = std::move(last_event_micros_);
    out->view = view;
    out->source_version_id = run.source_version_id;
    out->run_id = run.id;
    return std::shared_ptr<const LoadedView>(std::move(out));
  }

 private:
  RowDecoder() : keys_(DataType::kInt64) {}

  DataType key_type_ = DataType::kInt64;
  std::vector<DataType> types_;
  std::vector<std::string> names_;
  std::vector<FeatureColumn> columns_;
  ColumnVector keys_;
  std::vector<int64_t> last_event_micros_;
  size_t row_ = 0;
};

}  // namespace

std::vector<OnlineRow> EncodeOnlineRows(const LoadedView& view, const std::vector<int32_t>& rows,
                                        ThreadPool* pool) {
  std::vector<OnlineRow> out(rows.size());
  constexpr int64_t kBlock = 4096;
  const auto blocks = static_cast<int64_t>((rows.size() + kBlock - 1) / kBlock);
  ParallelForOrInline(pool, blocks, [&](int64_t b) {
    const size_t end = std::min(rows.size(), static_cast<size_t>((b + 1) * kBlock));
    cv1::Row row;
    for (size_t i = static_cast<size_t>(b * kBlock); i < end; ++i) {
      OnlineRow& o = out[i];
      row.Clear();
      o.row_index = rows[i];
      EncodeRow(view, rows[i], &row, &o.statuses);
      o.row = row.SerializeAsString();
      o.key = row.values(0).SerializeAsString();
    }
  });
  return out;
}

std::vector<OnlineChunk> EncodeOnlineChunks(const LoadedView& view, size_t chunk_entities,
                                            ThreadPool* pool) {
  const size_t n = view.snapshot->num_entities();
  std::vector<OnlineChunk> out((n + chunk_entities - 1) / chunk_entities);
  ParallelForOrInline(pool, static_cast<int64_t>(out.size()), [&](int64_t c) {
    const size_t begin = static_cast<size_t>(c) * chunk_entities;
    const size_t end = std::min(n, begin + chunk_entities);
    v1::FeatureRowChunk chunk;
    chunk.set_first_row_index(static_cast<int64_t>(begin));
    OnlineChunk& oc = out[static_cast<size_t>(c)];
    oc.entity_count = static_cast<int32_t>(end - begin);
    oc.statuses.reserve((end - begin) * view.snapshot->num_features());
    for (size_t r = begin; r < end; ++r) {
      EncodeRow(view, static_cast<int32_t>(r), chunk.add_rows(), &oc.statuses);
    }
    oc.chunk = chunk.SerializeAsString();
  });
  return out;
}

absl::StatusOr<std::shared_ptr<const LoadedView>> DecodeStoredOnline(const ResolvedView& view,
                                                                     const StoredOnline& stored) {
  // Every row as (Row, statuses): the chunks' first, then the overrides
  // replace theirs or, past the end, append (new entities, in order).
  const size_t n = view.definition.features.size();
  std::vector<v1::FeatureRowChunk> chunks(stored.chunks.size());
  std::vector<std::pair<const cv1::Row*, std::string_view>> rows;
  for (size_t c = 0; c < chunks.size(); ++c) {
    const OnlineChunk& oc = stored.chunks[c];
    if (!chunks[c].ParseFromString(oc.chunk) ||
        oc.statuses.size() != static_cast<size_t>(chunks[c].rows_size()) * n) {
      return absl::DataLossError(absl::StrCat("online chunk of run ", stored.run.id,
                                              " is corrupt"));
    }
    for (int i = 0; i < chunks[c].rows_size(); ++i) {
      rows.emplace_back(&chunks[c].rows(i),
                        std::string_view(oc.statuses).substr(static_cast<size_t>(i) * n, n));
    }
  }
  std::vector<cv1::Row> overrides(stored.rows.size());
  for (size_t i = 0; i < stored.rows.size(); ++i) {
    const OnlineRow& o = stored.rows[i];
    const auto index = static_cast<size_t>(o.row_index);
    if (o.row_index < 0 || index > rows.size() || !overrides[i].ParseFromString(o.row)) {
      return absl::DataLossError(absl::StrCat("online row ", o.row_index, " of run ",
                                              stored.run.id, " is corrupt or out of order"));
    }
    const std::pair<const cv1::Row*, std::string_view> row(&overrides[i], o.statuses);
    if (index == rows.size()) {
      rows.push_back(row);
    } else {
      rows[index] = row;
    }
  }
  MLOPS_ASSIGN_OR_RETURN(RowDecoder decoder, RowDecoder::Create(view));
  for (const auto& [row, statuses] : rows) {
    MLOPS_RETURN_IF_ERROR(decoder.Add(*row, statuses, stored.run));
  }
  return decoder.Finish(view, stored.run);
}

}  // namespace mlops::features
