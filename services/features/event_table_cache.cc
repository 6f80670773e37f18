#include "services/features/event_table_cache.h"

#include <malloc.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/incremental_state.h"
#include "services/features/ingestion_wire.h"
#include "services/features/proto_convert.h"

namespace mlops::features {

absl::Status ProtoRowsToBatch(const google::protobuf::RepeatedPtrField<common::v1::Row>& rows,
                              const SourceSchema& schema, int64_t first_row, ColumnBatch* out) {
  if (out->columns.empty()) {
    for (const SourceColumn& c : schema.columns) out->columns.emplace_back(c.type);
  }
  const size_t n = schema.columns.size();
  for (int i = 0; i < rows.size(); ++i) {
    const common::v1::Row& row = rows.Get(i);
    if (static_cast<size_t>(row.values_size()) != n) {
      return absl::InvalidArgumentError(absl::StrCat("row ", first_row + i, ": ",
                                                     row.values_size(), " values, expected ", n));
    }
    for (size_t c = 0; c < n; ++c) {
      const cv1::Value& v = row.values(static_cast<int>(c));
      if (!AppendProtoValue(v, &out->columns[c])) {
        return ValueFromProto(v, schema.columns[c].type,
                              absl::StrCat("row ", first_row + i, ", column \"",
                                           schema.columns[c].name, "\""))
            .status();
      }
    }
  }
  out->num_rows += rows.size();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const EventTable>> LoadEventTable(
    const IngestionClient& ingestion, const FeatureViewDefinition& definition,
    const std::string& version_id, ThreadPool* pool, SourceColumnCache* sources) {
  const std::vector<std::string> columns = ViewSourceColumns(definition);
  std::unique_ptr<EventTableBuilder> builder;
  auto on_header = [&](const SourceSchema& schema, int64_t row_count) -> absl::Status {
    absl::StatusOr<std::unique_ptr<EventTableBuilder>> b =
        EventTableBuilder::Create(definition, schema, row_count);
    if (!b.ok()) {
      // The dataset's schema no longer fits the view (e.g. evolved).
      return absl::FailedPreconditionError(absl::StrCat(
          "view ", definition.name, "@", definition.version, " does not fit dataset \"",
          definition.source_dataset, "\" version ", version_id, ": ", b.status().message()));
    }
    builder = std::move(*b);
    return absl::OkStatus();
  };
  auto on_batch = [&](const ColumnBatch& batch) { return builder->Append(batch); };
  if (sources != nullptr) {
    MLOPS_RETURN_IF_ERROR(sources->Read(ingestion, definition.source_dataset, version_id, columns,
                                        definition.name, on_header, on_batch));
  } else {
    MLOPS_RETURN_IF_ERROR(ReadColumnar(
        ingestion, definition.source_dataset, version_id, columns, 0,
        [&](const iv1::ReadHeader& header, const SourceSchema& schema) {
          return on_header(schema, header.row_count());
        },
        [&](ColumnBatch& batch, int64_t) { return on_batch(batch); }));
  }
  return builder->Finish(pool);
}

absl::StatusOr<std::shared_ptr<const EventTable>> EventTableCache::Get(
    const FeatureViewDefinition& definition, const std::string& version_id) {
  const std::string key =
      absl::StrCat(definition.name, "@", definition.version, "/", version_id);
  std::promise<Result> promise;
  std::shared_future<Result> other;  // set when another thread is reading the table
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.table;
    }
    auto loading = loading_.find(key);
    if (loading != loading_.end()) {
      other = loading->second;
    } else {
      loading_.emplace(key, promise.get_future().share());
    }
  }
  if (other.valid()) return other.get();
  Result table = LoadEventTable(*ingestion_, definition, version_id, pool_, &sources_);
  // A load frees as much as it keeps (received messages, decoded chunks, the
  // builder's records), in blocks glibc would otherwise keep resident.
  malloc_trim(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    loading_.erase(key);
    if (table.ok()) {
      lru_.push_front(key);
      Entry e{*table, (*table)->MemoryBytes(), lru_.begin()};
      bytes_ += e.bytes;
      entries_.emplace(key, std::move(e));
      EvictLocked();
    }
  }
  promise.set_value(table);
  return table;
}

void EventTableCache::EvictLocked() {
  // Keep at least the newest entry, however large.
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto it = entries_.find(lru_.back());
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    lru_.pop_back();
  }
}

size_t EventTableCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace mlops::features
