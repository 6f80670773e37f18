#include "services/features/historical.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "common/status/status_macros.h"
#include "services/features/feature_refs.h"
#include "services/features/point_in_time_join.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// The input rows with their schema. Dataset input keeps the read chunks as
// parsed (no per-row copy); `rows` points into them or into the request.
struct InputRows {
  cv1::Schema schema;
  std::unique_ptr<google::protobuf::Arena> arena;  // owns the chunks
  std::vector<iv1::ReadChunk*> chunks;
  std::vector<const cv1::Row*> rows;
  std::string version_id;  // dataset input only
};

absl::StatusOr<InputRows> ReadInput(const v1::GetHistoricalFeaturesRequest& req,
                                    const IngestionClient& ingestion) {
  InputRows in;
  if (req.has_inline_rows()) {
    in.schema = req.inline_rows().schema();
    for (const cv1::Row& r : req.inline_rows().rows()) in.rows.push_back(&r);
  } else if (req.has_dataset()) {
    const v1::DatasetEntityRows& d = req.dataset();
    if (!IsValidName(d.dataset())) {
      return absl::InvalidArgumentError("dataset.dataset: breaks the naming rule");
    }
    std::vector<std::string> columns(d.columns().begin(), d.columns().end());
    const std::string version = d.version_id() == "latest" ? "" : d.version_id();
    google::protobuf::ArenaOptions options;
    options.max_block_size = size_t{8} << 20;
    in.arena = std::make_unique<google::protobuf::Arena>(options);
    MLOPS_RETURN_IF_ERROR(ingestion.Read(
        d.dataset(), version, columns,
        [&](const iv1::ReadHeader& h) {
          in.schema = h.schema();
          in.version_id = h.version().id();
          in.rows.reserve(static_cast<size_t>(h.row_count()));
          return absl::OkStatus();
        },
        [&](iv1::ReadChunk& chunk) {
          auto* kept = google::protobuf::Arena::CreateMessage<iv1::ReadChunk>(in.arena.get());
          *kept = chunk;
          in.chunks.push_back(kept);
          return absl::OkStatus();
        }));
    for (const iv1::ReadChunk* c : in.chunks) {
      for (const cv1::Row& r : c->rows()) in.rows.push_back(&r);
    }
  } else {
    return absl::InvalidArgumentError("entity_rows: inline_rows or dataset is required");
  }
  if (in.rows.empty()) return absl::InvalidArgumentError("entity_rows: no input rows");
  for (size_t i = 0; i < in.rows.size(); ++i) {
    if (in.rows[i]->values_size() != in.schema.columns_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", i, ": ", in.rows[i]->values_size(), " values, the schema has ",
                       in.schema.columns_size(), " columns"));
    }
  }
  return in;
}

int FindInputColumn(const cv1::Schema& s, const std::string& name) {
  for (int i = 0; i < s.columns_size(); ++i) {
    if (s.columns(i).name() == name) return i;
  }
  return -1;
}

// The named column, or the only column with `role`.
absl::StatusOr<int> PickColumn(const cv1::Schema& s, const std::string& named,
                               cv1::ColumnRole role, const char* field) {
  if (!named.empty()) {
    const int c = FindInputColumn(s, named);
    if (c < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": \"", named, "\" is not an input column"));
    }
    return c;
  }
  int found = -1;
  for (int i = 0; i < s.columns_size(); ++i) {
    if (s.columns(i).role() != role) continue;
    if (found >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": the input has several ", cv1::ColumnRole_Name(role),
                       " columns; name one"));
    }
    found = i;
  }
  if (found < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": none given and the input has no ", cv1::ColumnRole_Name(role),
                     " column"));
  }
  return found;
}

// Expands a view's refs into feature indices (request order).
absl::Status SelectFeatures(const ParsedRefs& parsed, const ViewRefs& group,
                            ResolvedViewRef* out) {
  const FeatureViewDefinition& d = out->view.definition;
  for (int i : group.ref_indices) {
    const std::string& name = parsed.refs[i].feature;
    if (name == "*") {
      for (size_t f = 0; f < d.features.size(); ++f) out->features.push_back(f);
      continue;
    }
    bool found = false;
    for (size_t f = 0; f < d.features.size() && !found; ++f) {
      if (d.features[f].name == name) {
        out->features.push_back(f);
        found = true;
      }
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat("feature_refs[", i, "]: view ", d.name, "@",
                                              d.version, " has no feature \"", name, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HistoricalRetrieval::Run(const v1::GetHistoricalFeaturesRequest& req,
                                      const Sink& sink) const {
  MLOPS_ASSIGN_OR_RETURN(ParsedRefs parsed, ParseFeatureRefs(req.feature_refs()));
  const int chunk_rows = req.chunk_rows() == 0 ? 4096 : req.chunk_rows();
  if (chunk_rows < 0 || chunk_rows > 65536) {
    return absl::InvalidArgumentError("chunk_rows: must be in [0, 65536]");
  }
  for (const auto& [view, version] : req.source_dataset_versions()) {
    bool requested = false;
    for (const ViewRefs& g : parsed.views) requested = requested || g.view == view;
    if (!requested) {
      return absl::InvalidArgumentError(absl::StrCat(
          "source_dataset_versions[\"", view, "\"]: the view is not requested"));
    }
  }
  // Views, features, source versions.
  std::vector<ResolvedViewRef> views;
  for (const ViewRefs& g : parsed.views) {
    ResolvedViewRef r;
    MLOPS_ASSIGN_OR_RETURN(r.view, views_->Get(g.view, g.version));
    if (g.mixed) {
      MLOPS_ASSIGN_OR_RETURN(ResolvedView newest, views_->Get(g.view, 0));
      if (newest.definition.version != g.version) {
        return TwoVersionsError(g, newest.definition.version);
      }
    }
    MLOPS_RETURN_IF_ERROR(SelectFeatures(parsed, g, &r));
    auto pinned = req.source_dataset_versions().find(g.view);
    const std::string wanted = pinned == req.source_dataset_versions().end() ? "" : pinned->second;
    MLOPS_ASSIGN_OR_RETURN(iv1::DatasetVersion version,
                           ingestion_->GetVersion(r.view.definition.source_dataset, wanted));
    r.source_version_id = version.id();
    views.push_back(std::move(r));
  }
  MLOPS_ASSIGN_OR_RETURN(InputRows in, ReadInput(req, *ingestion_));
  MLOPS_ASSIGN_OR_RETURN(int ts_col, PickColumn(in.schema, req.timestamp_column(),
                                                cv1::COLUMN_ROLE_EVENT_TIMESTAMP,
                                                "timestamp_column"));
  if (in.schema.columns(ts_col).type() != cv1::DATA_TYPE_TIMESTAMP) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timestamp_column: \"", in.schema.columns(ts_col).name(), "\" is not TIMESTAMP"));
  }
  // Per view: its key column and the key type check.
  std::vector<int> key_cols;
  for (const ResolvedViewRef& r : views) {
    int c = FindInputColumn(in.schema, r.view.definition.entity_column);
    if (c < 0) {
      MLOPS_ASSIGN_OR_RETURN(c, PickColumn(in.schema, req.entity_key_column(),
                                           cv1::COLUMN_ROLE_ENTITY_KEY, "entity_key_column"));
    }
    if (in.schema.columns(c).type() != r.view.view.entity_key_type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entity key column \"", in.schema.columns(c).name(), "\" is ",
          cv1::DataType_Name(in.schema.columns(c).type()), "; view \"", r.view.definition.name,
          "\" expects ", cv1::DataType_Name(r.view.view.entity_key_type())));
    }
    key_cols.push_back(c);
  }
  // The header: input columns, then features; names must not collide.
  v1::GetHistoricalFeaturesResponse header_msg;
  v1::HistoricalFeaturesHeader* header = header_msg.mutable_header();
  *header->mutable_schema() = in.schema;
  std::set<std::string> names;
  for (const cv1::Column& c : in.schema.columns()) names.insert(c.name());
  for (const ResolvedViewRef& r : views) {
    const FeatureViewDefinition& d = r.view.definition;
    for (size_t f : r.features) {
      cv1::Column column = r.view.view.feature_schema().columns(static_cast<int>(f));
      if (req.full_feature_names()) column.set_name(absl::StrCat(d.name, "__", column.name()));
      if (!names.insert(column.name()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "output column \"", column.name(), "\" collides with another (use full_feature_names)"));
      }
      header->add_resolved_feature_refs(
          absl::StrCat(d.name, "@", d.version, ":", d.features[f].name));
      *header->mutable_schema()->add_columns() = std::move(column);
    }
    v1::ViewVersionUsed* used = header->add_views();
    used->set_view(d.name);
    used->set_version(d.version);
    used->set_source_dataset_version_id(r.source_version_id);
  }
  header->set_row_count(static_cast<int64_t>(in.rows.size()));
  header->set_input_dataset_version_id(in.version_id);
  // Keys and times, checked row by row.
  std::vector<int64_t> times(in.rows.size());
  const std::string ts_name = in.schema.columns(ts_col).name();
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const cv1::Value& t = in.rows[i]->values(ts_col);
    if (t.kind_case() != cv1::Value::kTimestampMicros) {
      return absl::InvalidArgumentError(absl::StrCat("row ", i, ", column \"", ts_name, "\": ",
                                                     t.kind_case() == 0 ? "NULL" : "not a",
                                                     " timestamp"));
    }
    if (!TimeInRange(t.timestamp_micros())) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", i, ", column \"", ts_name, "\": timestamp out of range"));
    }
    times[i] = t.timestamp_micros();
  }
  std::vector<ColumnVector> keys;
  std::vector<std::unique_ptr<PointInTimeJoin>> joins;
  for (size_t v = 0; v < views.size(); ++v) {
    const cv1::Column& kc = in.schema.columns(key_cols[v]);
    MLOPS_ASSIGN_OR_RETURN(DataType key_type, DataTypeFromProto(kc.type()));
    ColumnVector col(key_type);
    for (size_t i = 0; i < in.rows.size(); ++i) {
      const cv1::Value& key = in.rows[i]->values(key_cols[v]);
      if (key.kind_case() == cv1::Value::KIND_NOT_SET || !AppendProtoValue(key, &col)) {
        const std::string where = absl::StrCat("row ", i, ", column \"", kc.name(), "\"");
        if (key.kind_case() == cv1::Value::KIND_NOT_SET) {
          return absl::InvalidArgumentError(where + ": NULL entity key");
        }
        return ValueFromProto(key, key_type, where).status();
      }
    }
    keys.push_back(std::move(col));
    MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> table,
                           cache_->Get(views[v].view.definition, views[v].source_version_id));
    MLOPS_ASSIGN_OR_RETURN(auto join,
                           PointInTimeJoin::Create({{table, views[v].features}}, pool_));
    joins.push_back(std::move(join));
  }
  MLOPS_RETURN_IF_ERROR(sink(header_msg));
  // Chunks: input row values, then each view's features.
  std::vector<JoinScratch> scratch(views.size());
  const int row_values = header->schema().columns_size();
  std::vector<char> arena_buffer;
  size_t next_buffer_size = size_t{1} << 20;
  for (size_t begin = 0; begin < in.rows.size(); begin += static_cast<size_t>(chunk_rows)) {
    const size_t end = std::min(in.rows.size(), begin + static_cast<size_t>(chunk_rows));
    std::vector<std::vector<FeatureColumn>> features;
    for (size_t v = 0; v < views.size(); ++v) {
      JoinInputChunk input;
      input.entity_keys = ColumnVector(keys[v].type());
      ValueVector& k = input.entity_keys.values;
      if (k.type == DataType::kInt64) {
        k.ints.assign(keys[v].values.ints.begin() + begin, keys[v].values.ints.begin() + end);
      } else {
        k.strings.assign(keys[v].values.strings.begin() + begin,
                         keys[v].values.strings.begin() + end);
      }
      input.timestamps.assign(times.begin() + begin, times.begin() + end);
      MLOPS_ASSIGN_OR_RETURN(JoinOutputChunk out, joins[v]->JoinChunk(std::move(input),
                                                                      &scratch[v]));
      features.push_back(std::move(out.features));
    }
    // The chunk's message lives on an arena over a reused buffer: one
    // allocation per chunk instead of one per value, and no destructors.
    if (arena_buffer.size() < next_buffer_size) arena_buffer.resize(next_buffer_size);
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = arena_buffer.data();
    arena_options.initial_block_size = arena_buffer.size();
    arena_options.max_block_size = size_t{1} << 20;
    google::protobuf::Arena arena(arena_options);
    auto* msg = google::protobuf::Arena::CreateMessage<v1::GetHistoricalFeaturesResponse>(&arena);
    v1::FeatureRowChunk* chunk = msg->mutable_chunk();
    chunk->set_first_row_index(static_cast<int64_t>(begin));
    chunk->mutable_rows()->Reserve(static_cast<int>(end - begin));
    for (size_t i = begin; i < end; ++i) {
      cv1::Row* row = chunk->add_rows();
      row->mutable_values()->Reserve(row_values);
      for (const cv1::Value& v : in.rows[i]->values()) *row->add_values() = v;
      for (const std::vector<FeatureColumn>& cols : features) {
        for (const FeatureColumn& col : cols) FeatureValueToProto(col, i - begin, row->add_values());
      }
    }
    MLOPS_RETURN_IF_ERROR(sink(*msg));
    next_buffer_size = std::max(next_buffer_size, arena.SpaceAllocated());
    if (metrics_ != nullptr) metrics_->HistoricalRows(static_cast<int64_t>(end - begin));
  }
  return absl::OkStatus();
}

}  // namespace mlops::features
