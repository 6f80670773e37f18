#pragma once
// Decoding ReadDatasetVersion's responses straight from their wire bytes
// into columnar batches: no Row or Value message per row, one pass over the
// bytes. The header (once per read) still goes through its proto.
// Field numbers: proto/mlops/ingestion/v1/ingestion.proto
// (ReadDatasetVersionResponse, ReadChunk) and proto/mlops/common/v1/common.proto
// (Row, Value). Values decode as protobuf would parse them (oneof: the last
// member wins; unknown fields are skipped) and convert as AppendProtoValue
// does (INT64 into a DOUBLE column, NULL into the null mask); a chunk that
// does not fit the schema is re-read through the proto path so that its
// error is exactly ProtoRowsToBatch's.
// Pure functions, thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/features/feature_view.h"
#include "services/features/ingestion_client.h"
#include "services/features/types.h"

namespace mlops::features {

// One ReadDatasetVersionResponse, split: which payload it carries and the
// payload's bytes (a ReadHeader or a ReadChunk message).
struct ReadMessage {
  enum class Kind { kNone, kHeader, kChunk } kind = Kind::kNone;
  std::string_view payload;
};
// Internal when the bytes are not a ReadDatasetVersionResponse.
absl::Status SplitReadMessage(std::string_view bytes, ReadMessage* out);

// Appends the rows of a ReadChunk (its wire bytes) to `out`, columns
// positional against `schema` (created on first use), and sets *first_row
// to its first_row_index. On a value of the wrong type or a row of the wrong
// arity: ProtoRowsToBatch's InvalidArgument, and `out` keeps only the rows
// of earlier chunks. Internal when the bytes are malformed.
absl::Status AppendReadChunk(std::string_view chunk, const SourceSchema& schema,
                             int64_t* first_row, ColumnBatch* out);

// Reads `columns` of a version from row `offset` through
// IngestionClient::ReadRaw: on_header once with the header and its schema,
// then on_chunk per chunk with its rows decoded into a fresh batch.
absl::Status ReadColumnar(
    const IngestionClient& ingestion, const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&, const SourceSchema&)>& on_header,
    const std::function<absl::Status(ColumnBatch& batch, int64_t first_row)>& on_chunk);

// The same, appending every chunk's rows to *into (its columns made from
// the header's schema at the first chunk).
absl::Status ReadColumnarInto(
    const IngestionClient& ingestion, const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&, const SourceSchema&)>& on_header,
    ColumnBatch* into);

}  // namespace mlops::features
