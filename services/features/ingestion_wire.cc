#include "services/features/ingestion_wire.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/wire/proto_wire.h"
#include "google/protobuf/arena.h"
#include "services/features/event_table_cache.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// The members of common.v1.Value's oneof, by field number.
enum Kind : uint32_t { kNull = 0, kInt64 = 1, kDouble = 2, kString = 3, kBool = 4, kTimestamp = 5 };

using protowire::Field;
using protowire::ReadField;
using protowire::ReadVarint;

// One decoded Value: which member is set and its payload.
struct DecodedValue {
  uint32_t kind = kNull;
  uint64_t n = 0;
  std::string_view s;
};

inline bool DecodeValue(std::string_view bytes, DecodedValue* v) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  v->kind = kNull;
  Field f;
  while (p < end) {
    if (!ReadField(p, end, &f)) return false;
    const bool varint = f.wire_type == 0;
    switch (f.number) {
      case kInt64:
      case kBool:
      case kTimestamp:
        if (!varint) continue;  // a wrong wire type parses as an unknown field
        v->kind = f.number;
        v->n = f.n;
        break;
      case kDouble:
        if (f.wire_type != 1) continue;
        v->kind = kDouble;
        v->n = f.n;
        break;
      case kString:
        if (f.wire_type != 2) continue;
        v->kind = kString;
        v->s = f.bytes;
        break;
      default: break;  // unknown field
    }
  }
  return true;
}

// Appends `v` to `column` as AppendProtoValue would; false on a type mismatch.
inline bool AppendDecoded(const DecodedValue& v, ColumnVector* column) {
  ValueVector& out = column->values;
  if (v.kind == kNull) {
    column->nulls.resize(out.size(), 0);  // the mask starts at the first NULL
    column->nulls.push_back(1);
    switch (out.type) {
      case DataType::kDouble: out.doubles.push_back(0); break;
      case DataType::kString: out.strings.emplace_back(); break;
      default: out.ints.push_back(0); break;
    }
    return true;
  }
  switch (out.type) {
    case DataType::kInt64:
      if (v.kind != kInt64) return false;
      out.ints.push_back(static_cast<int64_t>(v.n));
      break;
    case DataType::kDouble:
      if (v.kind == kDouble) {
        double d;
        std::memcpy(&d, &v.n, sizeof d);
        out.doubles.push_back(d);
      } else if (v.kind == kInt64) {
        out.doubles.push_back(static_cast<double>(static_cast<int64_t>(v.n)));
      } else {
        return false;
      }
      break;
    case DataType::kString:
      if (v.kind != kString) return false;
      out.strings.emplace_back(v.s);
      break;
    case DataType::kBool:
      if (v.kind != kBool) return false;
      out.ints.push_back(v.n != 0 ? 1 : 0);
      break;
    case DataType::kTimestamp:
      if (v.kind != kTimestamp) return false;
      out.ints.push_back(static_cast<int64_t>(v.n));
      break;
  }
  if (!column->nulls.empty()) column->nulls.push_back(0);
  return true;
}

// The rows of a ReadChunk into `out`: 1 = done, 0 = a row does not fit the
// schema (arity or type), -1 = malformed bytes.
int DecodeRows(std::string_view chunk, size_t n, int64_t* first_row, ColumnBatch* out) {
  const char* p = chunk.data();
  const char* end = p + chunk.size();
  Field f;
  Field value;
  DecodedValue v;
  int64_t rows = 0;
  *first_row = 0;
  while (p < end) {
    if (!ReadField(p, end, &f)) return -1;
    if (f.number == 1 && f.wire_type == 0) {
      *first_row = static_cast<int64_t>(f.n);
      continue;
    }
    if (f.number != 2 || f.wire_type != 2) continue;  // unknown field
    const char* q = f.bytes.data();
    const char* row_end = q + f.bytes.size();
    size_t c = 0;
    while (q < row_end) {
      // Fast path: a DOUBLE value as protobuf writes it (entry tag, length
      // 9, double tag, 8 bytes) into a DOUBLE column.
      if (c < n && row_end - q >= 11 && q[0] == 0x0a && q[1] == 0x09 && q[2] == 0x11 &&
          out->columns[c].values.type == DataType::kDouble) {
        double d;
        std::memcpy(&d, q + 3, sizeof d);
        ColumnVector& col = out->columns[c];
        col.values.doubles.push_back(d);
        if (!col.nulls.empty()) col.nulls.push_back(0);
        q += 11;
        ++c;
        continue;
      }
      if (!ReadField(q, row_end, &value)) return -1;
      if (value.number != 1 || value.wire_type != 2) continue;
      if (c >= n) return 0;
      if (!DecodeValue(value.bytes, &v)) return -1;
      if (!AppendDecoded(v, &out->columns[c])) return 0;
      ++c;
    }
    if (c != n) return 0;
    ++rows;
  }
  out->num_rows += rows;
  return 1;
}

// Cuts every column of `batch` back to `rows` rows.
void Truncate(ColumnBatch* batch, int64_t rows) {
  const auto n = static_cast<size_t>(rows);
  for (ColumnVector& c : batch->columns) {
    ValueVector& v = c.values;
    if (v.ints.size() > n) v.ints.resize(n);
    if (v.doubles.size() > n) v.doubles.resize(n);
    if (v.strings.size() > n) v.strings.resize(n);
    if (c.nulls.size() > n) c.nulls.resize(n);
    if (std::find(c.nulls.begin(), c.nulls.end(), 1) == c.nulls.end()) c.nulls.clear();
  }
  batch->num_rows = rows;
}

}  // namespace

absl::Status SplitReadMessage(std::string_view bytes, ReadMessage* out) {
  *out = ReadMessage();
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  Field f;
  while (p < end) {
    if (!ReadField(p, end, &f)) {
      return absl::InternalError("ingestion sent a malformed ReadDatasetVersionResponse");
    }
    if (f.wire_type != 2) continue;
    // oneof payload: the last member wins.
    if (f.number == 1) *out = {ReadMessage::Kind::kHeader, f.bytes};
    if (f.number == 2) *out = {ReadMessage::Kind::kChunk, f.bytes};
  }
  return absl::OkStatus();
}

absl::Status AppendReadChunk(std::string_view chunk, const SourceSchema& schema,
                             int64_t* first_row, ColumnBatch* out) {
  if (out->columns.empty()) {
    for (const SourceColumn& c : schema.columns) out->columns.emplace_back(c.type);
  }
  const int64_t rows_before = out->num_rows;
  const int decoded = DecodeRows(chunk, schema.columns.size(), first_row, out);
  if (decoded == 1) return absl::OkStatus();
  Truncate(out, rows_before);
  // The proto path, for its exact error (or, should it accept the rows, its result).
  google::protobuf::Arena arena;
  auto* msg = google::protobuf::Arena::CreateMessage<iv1::ReadChunk>(&arena);
  if (!msg->ParseFromArray(chunk.data(), static_cast<int>(chunk.size()))) {
    return absl::InternalError("ingestion sent a malformed ReadChunk");
  }
  *first_row = msg->first_row_index();
  absl::Status s = ProtoRowsToBatch(msg->rows(), schema, msg->first_row_index(), out);
  if (!s.ok()) Truncate(out, rows_before);  // it stops mid-row
  return s;
}

namespace {

// A read through ReadRaw: on_header with the parsed header and its schema,
// then on_payload with each chunk's ReadChunk bytes.
absl::Status ReadPayloads(
    const IngestionClient& ingestion, const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&, const SourceSchema&)>& on_header,
    const std::function<absl::Status(std::string_view, const SourceSchema&)>& on_payload) {
  SourceSchema schema;
  bool header_seen = false;
  ReadMessage m;
  MLOPS_RETURN_IF_ERROR(ingestion.ReadRaw(
      dataset, version_id, columns, offset, [&](std::string_view bytes) -> absl::Status {
        MLOPS_RETURN_IF_ERROR(SplitReadMessage(bytes, &m));
        if (m.kind == ReadMessage::Kind::kHeader) {
          iv1::ReadHeader header;
          if (!header.ParseFromArray(m.payload.data(), static_cast<int>(m.payload.size()))) {
            return absl::InternalError("ingestion sent a malformed ReadHeader");
          }
          header_seen = true;
          MLOPS_ASSIGN_OR_RETURN(schema, SourceSchemaFromProto(header.schema()));
          return on_header(header, schema);
        }
        if (m.kind != ReadMessage::Kind::kChunk) return absl::OkStatus();
        if (!header_seen) return absl::InternalError("ingestion sent a chunk before the header");
        return on_payload(m.payload, schema);
      }));
  if (!header_seen) return absl::InternalError("ingestion sent no read header");
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadColumnar(
    const IngestionClient& ingestion, const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&, const SourceSchema&)>& on_header,
    const std::function<absl::Status(ColumnBatch& batch, int64_t first_row)>& on_chunk) {
  return ReadPayloads(ingestion, dataset, version_id, columns, offset, on_header,
                      [&](std::string_view payload, const SourceSchema& schema) -> absl::Status {
                        ColumnBatch batch;
                        int64_t first_row = 0;
                        MLOPS_RETURN_IF_ERROR(AppendReadChunk(payload, schema, &first_row, &batch));
                        return on_chunk(batch, first_row);
                      });
}

absl::Status ReadColumnarInto(
    const IngestionClient& ingestion, const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&, const SourceSchema&)>& on_header,
    ColumnBatch* into) {
  return ReadPayloads(ingestion, dataset, version_id, columns, offset, on_header,
                      [&](std::string_view payload, const SourceSchema& schema) {
                        int64_t first_row = 0;
                        return AppendReadChunk(payload, schema, &first_row, into);
                      });
}

}  // namespace mlops::features
