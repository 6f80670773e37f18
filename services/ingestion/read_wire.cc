#include "services/ingestion/read_wire.h"

#include <cstring>

#include "common/wire/proto_wire.h"

namespace mlops::ingestion {
namespace {

using protowire::AppendVarint;
using protowire::kMaxVarint;
using protowire::PutVarint;
using protowire::ReadVarint;
using protowire::SkipField;
using protowire::VarintSize;

constexpr uint8_t kRowChunkRowsTag = (1 << 3) | 2;     // RowChunk.rows
constexpr uint8_t kRowValuesTag = (1 << 3) | 2;        // Row.values
constexpr uint8_t kResponseChunkTag = (2 << 3) | 2;    // ReadDatasetVersionResponse.chunk
constexpr uint8_t kChunkFirstRowTag = (1 << 3) | 0;    // ReadChunk.first_row_index
constexpr uint8_t kChunkRowsTag = (2 << 3) | 2;        // ReadChunk.rows
// Room for the message head: tag, length, first_row_index's tag and varint.
constexpr size_t kHeadRoom = 1 + kMaxVarint + 1 + kMaxVarint;

absl::Status Corrupt() { return absl::InternalError("corrupt stored chunk"); }

}  // namespace

absl::Status SplitStoredRows(std::string_view chunk, std::vector<std::string_view>* rows) {
  rows->clear();
  const char* p = chunk.data();
  const char* end = p + chunk.size();
  while (p < end) {
    uint64_t tag = 0;
    if (!ReadVarint(p, end, &tag)) return Corrupt();
    if (tag != kRowChunkRowsTag) {
      // Not a row (RowChunk has no other field): skip it as the parser would.
      if ((tag >> 3) == 0 || !SkipField(static_cast<uint32_t>(tag & 7), p, end)) return Corrupt();
      continue;
    }
    uint64_t n = 0;
    if (!ReadVarint(p, end, &n) || n > static_cast<uint64_t>(end - p)) return Corrupt();
    rows->emplace_back(p, n);
    p += n;
  }
  return absl::OkStatus();
}

ReadChunkEncoder::ReadChunkEncoder(std::vector<int> columns, int chunk_rows)
    : columns_(std::move(columns)), chunk_rows_(chunk_rows) {
  body_.assign(kHeadRoom, '\0');
}

absl::Status ReadChunkEncoder::Add(int64_t index, std::string_view row) {
  if (rows_ == 0) first_index_ = index;
  if (columns_.empty()) {
    body_.push_back(static_cast<char>(kChunkRowsTag));
    AppendVarint(&body_, row.size());
    body_.append(row.data(), row.size());
    ++rows_;
    return absl::OkStatus();
  }
  // The row's `values` entries (tag, length, Value), as stored.
  values_.clear();
  const char* p = row.data();
  const char* end = p + row.size();
  while (p < end) {
    const char* entry = p;
    uint64_t tag = 0;
    if (!ReadVarint(p, end, &tag)) return Corrupt();
    if (!SkipField(static_cast<uint32_t>(tag & 7), p, end) || (tag >> 3) == 0) return Corrupt();
    if (tag == kRowValuesTag) values_.emplace_back(entry, static_cast<size_t>(p - entry));
  }
  size_t size = 0;
  for (int c : columns_) {
    if (c < 0 || static_cast<size_t>(c) >= values_.size()) {
      return absl::InternalError("stored row has fewer values than the schema");
    }
    size += values_[static_cast<size_t>(c)].size();
  }
  body_.push_back(static_cast<char>(kChunkRowsTag));
  AppendVarint(&body_, size);
  for (int c : columns_) {
    const std::string_view v = values_[static_cast<size_t>(c)];
    body_.append(v.data(), v.size());
  }
  ++rows_;
  return absl::OkStatus();
}

WireMessage ReadChunkEncoder::Take() {
  // ReadChunk = [first_row_index] rows; the response = chunk tag, length, ReadChunk.
  const size_t rows_size = body_.size() - kHeadRoom;
  const uint64_t first = static_cast<uint64_t>(first_index_);
  const size_t first_size = first == 0 ? 0 : 1 + VarintSize(first);
  const size_t chunk_size = first_size + rows_size;
  const size_t head = 1 + VarintSize(chunk_size) + first_size;
  WireMessage out;
  out.offset = kHeadRoom - head;
  char* p = body_.data() + out.offset;
  *p++ = static_cast<char>(kResponseChunkTag);
  p = PutVarint(p, chunk_size);
  if (first != 0) {
    *p++ = static_cast<char>(kChunkFirstRowTag);
    PutVarint(p, first);
  }
  out.bytes = std::move(body_);
  body_.clear();
  body_.assign(kHeadRoom, '\0');
  rows_ = 0;
  first_index_ = 0;
  return out;
}

absl::Status ReadStreamEncoder::Add(const ChunkRef& ref, std::string_view bytes) {
  if (stopped_) return absl::CancelledError("the reader stopped");
  if (ref.first_row + ref.row_count <= next_ || next_ >= end_) return absl::OkStatus();
  if (ref.first_row > next_) return absl::InternalError("version rows are missing");
  absl::Status s = SplitStoredRows(bytes, &rows_);
  if (!s.ok()) return s;
  if (static_cast<int64_t>(rows_.size()) != ref.row_count) {
    return absl::InternalError("chunk row count mismatch");
  }
  for (; next_ < ref.first_row + ref.row_count && next_ < end_; ++next_) {
    s = encoder_.Add(next_, rows_[static_cast<size_t>(next_ - ref.first_row)]);
    if (!s.ok()) return s;
    if (encoder_.full() && !write_(encoder_.Take())) {
      ++next_;
      stopped_ = true;
      return absl::CancelledError("the reader stopped");
    }
  }
  return absl::OkStatus();
}

absl::Status ReadStreamEncoder::Finish() {
  if (stopped_) return absl::OkStatus();
  if (!encoder_.empty() && !write_(encoder_.Take())) {
    stopped_ = true;
    return absl::OkStatus();
  }
  if (next_ != end_) return absl::InternalError("version rows are missing");
  return absl::OkStatus();
}

}  // namespace mlops::ingestion
