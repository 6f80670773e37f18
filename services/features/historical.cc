#include "services/features/historical.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/unknown_field_set.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/features/feature_refs.h"
#include "services/features/historical_wire.h"
#include "services/features/point_in_time_join.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// GetHistoricalFeaturesResponse.chunk (proto/mlops/features/v1/features.proto).
constexpr int kResponseChunkField = 2;
// Feature values joined at once (rows x features of a join batch): bounds
// the batch's output columns and the join's sorted copy of them, about 9
// bytes per value each.
constexpr size_t kJoinValues = size_t{32} << 20;

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

// The input rows as the join and the output need them, filled row by row as
// they are read (nothing else of them is kept): each row's encoding, which
// starts its output row; its as-of time; its key in each key column.
struct InputRows {
  cv1::Schema schema;
  std::string version_id;  // dataset input only
  int ts_col = -1;
  std::vector<int> key_cols;       // distinct key columns
  std::vector<size_t> view_key;    // per view: index into key_cols / keys
  std::vector<ColumnVector> keys;  // per key column
  std::vector<int64_t> times;
  wire::EncodedRows rows;

  size_t size() const { return times.size(); }
};

// Picks the timestamp column and each view's key column of `in->schema`
// and checks their types.
absl::Status PickInputColumns(const v1::GetHistoricalFeaturesRequest& req,
                              const std::vector<ResolvedViewRef>& views, InputRows* in) {
  const cv1::Schema& schema = in->schema;
  MLOPS_ASSIGN_OR_RETURN(in->ts_col, PickColumn(schema, req.timestamp_column(),
                                                cv1::COLUMN_ROLE_EVENT_TIMESTAMP,
                                                "timestamp_column"));
  if (schema.columns(in->ts_col).type() != cv1::DATA_TYPE_TIMESTAMP) {
    return absl::InvalidArgumentError(absl::StrCat(
        "timestamp_column: \"", schema.columns(in->ts_col).name(), "\" is not TIMESTAMP"));
  }
  for (const ResolvedViewRef& r : views) {
    int c = FindInputColumn(schema, r.view.definition.entity_column);
    if (c < 0) {
      MLOPS_ASSIGN_OR_RETURN(c, PickColumn(schema, req.entity_key_column(),
                                           cv1::COLUMN_ROLE_ENTITY_KEY, "entity_key_column"));
    }
    if (schema.columns(c).type() != r.view.view.entity_key_type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "entity key column \"", schema.columns(c).name(), "\" is ",
          cv1::DataType_Name(schema.columns(c).type()), "; view \"", r.view.definition.name,
          "\" expects ", cv1::DataType_Name(r.view.view.entity_key_type())));
    }
    const size_t k = std::find(in->key_cols.begin(), in->key_cols.end(), c) - in->key_cols.begin();
    if (k == in->key_cols.size()) {
      MLOPS_ASSIGN_OR_RETURN(DataType key_type, DataTypeFromProto(schema.columns(c).type()));
      in->key_cols.push_back(c);
      in->keys.emplace_back(key_type);
    }
    in->view_key.push_back(k);
  }
  return absl::OkStatus();
}

// Checks row `i` and appends its time, keys and encoding to `in`.
absl::Status AddInputRow(const cv1::Row& row, InputRows* in) {
  const size_t i = in->size();
  if (row.values_size() != in->schema.columns_size()) {
    return absl::InvalidArgumentError(absl::StrCat("row ", i, ": ", row.values_size(),
                                                   " values, the schema has ",
                                                   in->schema.columns_size(), " columns"));
  }
  const cv1::Value& t = row.values(in->ts_col);
  if (t.kind_case() != cv1::Value::kTimestampMicros || !TimeInRange(t.timestamp_micros())) {
    const std::string where =
        absl::StrCat("row ", i, ", column \"", in->schema.columns(in->ts_col).name(), "\": ");
    if (t.kind_case() != cv1::Value::kTimestampMicros) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, t.kind_case() == 0 ? "NULL" : "not a", " timestamp"));
    }
    return absl::InvalidArgumentError(where + "timestamp out of range");
  }
  for (size_t k = 0; k < in->key_cols.size(); ++k) {
    const cv1::Value& key = row.values(in->key_cols[k]);
    if (key.kind_case() == cv1::Value::KIND_NOT_SET || !AppendProtoValue(key, &in->keys[k])) {
      const std::string where = absl::StrCat(
          "row ", i, ", column \"", in->schema.columns(in->key_cols[k]).name(), "\"");
      if (key.kind_case() == cv1::Value::KIND_NOT_SET) {
        return absl::InvalidArgumentError(where + ": NULL entity key");
      }
      return ValueFromProto(key, in->keys[k].type(), where).status();
    }
  }
  in->times.push_back(t.timestamp_micros());
  std::string& bytes = in->rows.bytes;
  const size_t at = bytes.size();
  bytes.resize(at + row.ByteSizeLong());
  row.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(bytes.data() + at));
  in->rows.offsets.push_back(bytes.size());
  return absl::OkStatus();
}

// Reads the input rows, inline or from an ingestion dataset version.
absl::StatusOr<InputRows> ReadInput(const v1::GetHistoricalFeaturesRequest& req,
                                    const std::vector<ResolvedViewRef>& views,
                                    const IngestionClient& ingestion) {
  InputRows in;
  if (req.has_inline_rows()) {
    in.schema = req.inline_rows().schema();
    MLOPS_RETURN_IF_ERROR(PickInputColumns(req, views, &in));
    for (const cv1::Row& r : req.inline_rows().rows()) MLOPS_RETURN_IF_ERROR(AddInputRow(r, &in));
  } else if (req.has_dataset()) {
    const v1::DatasetEntityRows& d = req.dataset();
    if (!IsValidName(d.dataset())) {
      return absl::InvalidArgumentError("dataset.dataset: breaks the naming rule");
    }
    std::vector<std::string> columns(d.columns().begin(), d.columns().end());
    const std::string version = d.version_id() == "latest" ? "" : d.version_id();
    MLOPS_RETURN_IF_ERROR(ingestion.Read(
        d.dataset(), version, columns,
        [&](const iv1::ReadHeader& h) {
          in.schema = h.schema();
          in.version_id = h.version().id();
          const size_t rows = static_cast<size_t>(std::max<int64_t>(h.row_count(), 0));
          in.times.reserve(rows);
          in.rows.offsets.reserve(rows + 1);
          return PickInputColumns(req, views, &in);
        },
        [&](iv1::ReadChunk& chunk) {
          for (const cv1::Row& r : chunk.rows()) MLOPS_RETURN_IF_ERROR(AddInputRow(r, &in));
          return absl::OkStatus();
        }));
  } else {
    return absl::InvalidArgumentError("entity_rows: inline_rows or dataset is required");
  }
  if (in.size() == 0) return absl::InvalidArgumentError("entity_rows: no input rows");
  return in;
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
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  MLOPS_ASSIGN_OR_RETURN(InputRows in, ReadInput(req, views, *ingestion_));
  const double read_seconds = seconds_since(started);
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
  header->set_row_count(static_cast<int64_t>(in.size()));
  header->set_input_dataset_version_id(in.version_id);
  std::vector<std::unique_ptr<PointInTimeJoin>> joins;
  for (const ResolvedViewRef& r : views) {
    MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> table,
                           cache_->Get(r.view.definition, r.source_version_id));
    MLOPS_ASSIGN_OR_RETURN(auto join, PointInTimeJoin::Create({{table, r.features}}, pool_));
    joins.push_back(std::move(join));
  }
  MLOPS_RETURN_IF_ERROR(sink(header_msg));
  // The rows are joined in batches of whole chunks, as large as kJoinValues
  // allows (the whole input when it fits): the join visits a batch's rows in
  // entity order, i.e. it walks each event table front to back, and an
  // entity's events are read once per batch while in cache instead of once
  // per chunk; a batch's output is then streamed chunk by chunk.
  size_t num_features = 0;
  for (const ResolvedViewRef& r : views) num_features += r.features.size();
  const size_t chunk = static_cast<size_t>(chunk_rows);
  const size_t batch_rows =
      std::max<size_t>(1, kJoinValues / std::max<size_t>(num_features, 1) / chunk) * chunk;
  // Chunks: each row's input values, then each view's features, written as
  // wire bytes (historical_wire.h) carried by the message as the encoded
  // `chunk` field (an unknown field to this message object, so serializing
  // it writes the bytes as they are: a client parses a normal chunk).
  std::vector<JoinScratch> scratch(views.size());
  v1::GetHistoricalFeaturesResponse msg;
  std::string* chunk_bytes =
      msg.GetReflection()->MutableUnknownFields(&msg)->AddLengthDelimited(kResponseChunkField);
  double join_seconds = 0, encode_seconds = 0, write_seconds = 0;
  for (size_t batch = 0; batch < in.size(); batch += batch_rows) {
    const size_t batch_end = std::min(in.size(), batch + batch_rows);
    const Clock::time_point join_start = Clock::now();
    std::vector<std::vector<FeatureColumn>> features;
    for (size_t v = 0; v < views.size(); ++v) {
      const ColumnVector& keys = in.keys[in.view_key[v]];
      JoinInputChunk input;
      input.entity_keys = ColumnVector(keys.type());
      ValueVector& k = input.entity_keys.values;
      if (k.type == DataType::kInt64) {
        k.ints.assign(keys.values.ints.begin() + batch, keys.values.ints.begin() + batch_end);
      } else {
        k.strings.assign(keys.values.strings.begin() + batch,
                         keys.values.strings.begin() + batch_end);
      }
      input.timestamps.assign(in.times.begin() + batch, in.times.begin() + batch_end);
      MLOPS_ASSIGN_OR_RETURN(JoinOutputChunk out, joins[v]->JoinChunk(std::move(input),
                                                                      &scratch[v]));
      features.push_back(std::move(out.features));
    }
    join_seconds += seconds_since(join_start);
    std::vector<const FeatureColumn*> columns;
    for (const std::vector<FeatureColumn>& cols : features) {
      for (const FeatureColumn& c : cols) columns.push_back(&c);
    }
    for (size_t begin = batch; begin < batch_end; begin += chunk) {
      const size_t end = std::min(batch_end, begin + chunk);
      const Clock::time_point encode_start = Clock::now();
      wire::EncodeFeatureRowChunk(static_cast<int64_t>(begin), in.rows, end - begin, columns,
                                  begin - batch, pool_, chunk_bytes);
      const Clock::time_point write_start = Clock::now();
      encode_seconds += std::chrono::duration<double>(write_start - encode_start).count();
      MLOPS_RETURN_IF_ERROR(sink(msg));
      write_seconds += seconds_since(write_start);
      if (metrics_ != nullptr) metrics_->HistoricalRows(static_cast<int64_t>(end - begin));
    }
  }
  // Where a call's time went (write: the sink, i.e. gRPC serialization and
  // waiting for the client to take the chunks).
  LogInfo("features_historical_done",
          {{"rows", std::to_string(in.size())}, {"views", std::to_string(views.size())},
           {"read_s", std::to_string(read_seconds)}, {"join_s", std::to_string(join_seconds)},
           {"encode_s", std::to_string(encode_seconds)},
           {"write_s", std::to_string(write_seconds)},
           {"total_s", std::to_string(seconds_since(started))}});
  return absl::OkStatus();
}

}  // namespace mlops::features
