#pragma once
// The read path's wire format: ReadDatasetVersion's chunk messages written
// straight from stored chunk bytes, without a proto per row or value.
//
// A stored chunk is a serialized v1.RowChunk (field 1: repeated Row), written
// by protobuf's own serializer from parsed rows (batch_session.cc), so each
// Row's bytes are already canonical: re-parsing and re-serializing them gives
// the same bytes. A ReadDatasetVersionResponse{chunk} is then
//   0x12 len ReadChunk, ReadChunk = [0x08 first_row_index] (0x12 len Row)*
// (first_row_index omitted when 0, as proto3 does), and a projected row is
// the chosen `values` entries (0x0A len Value) copied in the projection's
// order: bit for bit what the proto path (parse, copy the Values, serialize)
// produced. Field numbers: proto/mlops/ingestion/v1/ingestion.proto
// (RowChunk, ReadChunk, ReadDatasetVersionResponse) and
// proto/mlops/common/v1/common.proto (Row).
//
// Pure functions and a per-call encoder; not thread-safe (one per read).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

// One serialized message: bytes.substr(offset).
struct WireMessage {
  std::string bytes;
  size_t offset = 0;
  std::string_view view() const { return std::string_view(bytes).substr(offset); }
};

// The bytes of each Row of a stored chunk (a serialized v1.RowChunk), in
// order, appended to `rows` (cleared first). Internal ("corrupt stored
// chunk") when the bytes are not a well-formed RowChunk.
absl::Status SplitStoredRows(std::string_view chunk, std::vector<std::string_view>* rows);

// Builds ReadDatasetVersionResponse{chunk} messages of up to `chunk_rows`
// rows each, in wire format.
class ReadChunkEncoder {
 public:
  // `columns`: the schema indexes of the projected columns in output order;
  // empty = whole rows.
  ReadChunkEncoder(std::vector<int> columns, int chunk_rows);

  // Appends row `index` (the bytes of a Row message; rows must come in
  // consecutive index order). Internal when a projected column is missing.
  absl::Status Add(int64_t index, std::string_view row);
  bool full() const { return rows_ >= chunk_rows_; }
  bool empty() const { return rows_ == 0; }
  // The finished message; the space before its offset was reserved for its
  // head, so taking it copies nothing. The encoder is empty afterwards.
  WireMessage Take();

 private:
  const std::vector<int> columns_;
  const int chunk_rows_;
  int rows_ = 0;
  int64_t first_index_ = 0;
  std::string body_;  // kHeadRoom reserved bytes, then the ReadChunk's rows, encoded
  std::vector<std::string_view> values_;  // scratch: one row's value entries
};

// Rows [begin, end) of a version, from its stored chunks in order, as
// ReadDatasetVersionResponse{chunk} messages of `chunk_rows` rows handed to
// `write` (which returns false to stop: the reader is gone).
class ReadStreamEncoder {
 public:
  ReadStreamEncoder(std::vector<int> columns, int chunk_rows, int64_t begin, int64_t end,
                    std::function<bool(WireMessage)> write)
      : encoder_(std::move(columns), chunk_rows),
        next_(begin),
        end_(end),
        write_(std::move(write)) {}

  // The next stored chunk (bytes: a serialized RowChunk). A chunk whose rows
  // were all seen (a store's retry) is skipped. Internal on corrupt bytes,
  // a wrong row count or a gap; Cancelled once `write` returned false.
  absl::Status Add(const ChunkRef& ref, std::string_view bytes);
  // Writes what is left; Internal when rows before `end` never came.
  absl::Status Finish();
  bool stopped() const { return stopped_; }

 private:
  ReadChunkEncoder encoder_;
  int64_t next_;
  const int64_t end_;
  std::function<bool(WireMessage)> write_;
  std::vector<std::string_view> rows_;  // scratch
  bool stopped_ = false;
};

}  // namespace mlops::ingestion
