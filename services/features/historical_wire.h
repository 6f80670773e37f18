#pragma once
// The protobuf wire format of one FeatureRowChunk of GetHistoricalFeatures,
// written directly from the input rows' encodings and the typed feature
// columns: no Value message per cell, no ByteSizeLong pass, no arena. The
// bytes are the canonical encoding protobuf's own serializer produces for
// the same message (fields in number order, first_row_index omitted when 0,
// proto3 oneof members written even when zero, a non-PRESENT value as an
// empty Value), so any client parses them as the proto says.
// Field numbers: proto/mlops/features/v1/features.proto (FeatureRowChunk)
// and proto/mlops/common/v1/common.proto (Row, Value); the per-Value writers
// are online_wire.h's (Row.values and OnlineFeatureRow.values are both
// field 1). Header-only; the functions are pure (EncodeFeatureRowChunk may
// split its rows over a ThreadPool).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "services/features/online_wire.h"
#include "services/features/thread_pool.h"
#include "services/features/types.h"

namespace mlops::features::wire {

inline constexpr uint8_t kChunkFirstRowTag = (1 << 3) | 0;  // FeatureRowChunk.first_row_index
inline constexpr uint8_t kChunkRowsTag = (2 << 3) | 2;      // FeatureRowChunk.rows

// Rows as encoded `Row` messages back to back: row i is
// bytes[offsets[i], offsets[i + 1]). The output row starts with them.
struct EncodedRows {
  std::string bytes;
  std::vector<uint64_t> offsets{0};

  size_t size() const { return offsets.size() - 1; }
  std::string_view Row(size_t i) const {
    return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

// Bytes of the `Row.values` entry for row i of c.
inline size_t FeatureValueSize(const FeatureColumn& c, size_t i) {
  if (c.status[i] != ValueStatus::kPresent) return 2;
  switch (c.type()) {
    case DataType::kDouble: return 11;
    case DataType::kBool: return 4;
    case DataType::kString: {
      const size_t len = c.values.strings[i].size();
      const size_t value = 1 + VarintSize(len) + len;
      return 1 + VarintSize(value) + value;
    }
    default: return 3 + VarintSize(static_cast<uint64_t>(c.values.ints[i]));
  }
}

// Writes the `Row.values` entry for row i of c at p; returns its end.
inline char* PutFeatureValue(char* p, const FeatureColumn& c, size_t i) {
  if (c.status[i] != ValueStatus::kPresent) return PutNullValue(p);
  switch (c.type()) {
    case DataType::kDouble: return PutDoubleValue(p, c.values.doubles[i]);
    case DataType::kString: return PutStringValue(p, c.values.strings[i]);
    case DataType::kBool: return PutVarintValue(p, kBoolTag, c.values.ints[i] != 0 ? 1 : 0);
    case DataType::kTimestamp:
      return PutVarintValue(p, kTimestampTag, static_cast<uint64_t>(c.values.ints[i]));
    default: return PutVarintValue(p, kInt64Tag, static_cast<uint64_t>(c.values.ints[i]));
  }
}

// Encodes FeatureRowChunk{first_row_index = first_row, rows}: row r is the
// input row first_row + r (its values) followed by row feature_row + r of
// every column of `features` in order. Replaces *out; its capacity is
// reused across calls.
inline void EncodeFeatureRowChunk(int64_t first_row, const EncodedRows& input, size_t rows,
                                  const std::vector<const FeatureColumn*>& features,
                                  size_t feature_row, ThreadPool* pool, std::string* out) {
  const size_t first = static_cast<size_t>(first_row);
  // Each row's encoded length, column by column (sequential reads).
  std::vector<uint64_t> len(rows);
  for (size_t r = 0; r < rows; ++r) {
    len[r] = input.offsets[first + r + 1] - input.offsets[first + r];
  }
  for (const FeatureColumn* c : features) {
    if (c->type() == DataType::kDouble) {
      const ValueStatus* status = c->status.data() + feature_row;
      for (size_t r = 0; r < rows; ++r) len[r] += status[r] == ValueStatus::kPresent ? 11 : 2;
    } else {
      for (size_t r = 0; r < rows; ++r) len[r] += FeatureValueSize(*c, feature_row + r);
    }
  }
  // Where each row's field starts in the output.
  std::vector<uint64_t> at(rows + 1);
  at[0] = first_row == 0 ? 0 : 1 + VarintSize(static_cast<uint64_t>(first_row));
  for (size_t r = 0; r < rows; ++r) at[r + 1] = at[r] + 1 + VarintSize(len[r]) + len[r];
  out->resize(at[rows]);
  char* base = out->data();
  if (first_row != 0) {
    base[0] = static_cast<char>(kChunkFirstRowTag);
    PutVarint(base + 1, static_cast<uint64_t>(first_row));
  }
  constexpr size_t kRowsPerTask = 2048;
  const int64_t tasks = static_cast<int64_t>((rows + kRowsPerTask - 1) / kRowsPerTask);
  ParallelForOrInline(pool, tasks, [&](int64_t t) {
    const size_t end = std::min(rows, static_cast<size_t>(t + 1) * kRowsPerTask);
    for (size_t r = static_cast<size_t>(t) * kRowsPerTask; r < end; ++r) {
      char* p = base + at[r];
      const std::string_view in = input.Row(first + r);
      *p++ = static_cast<char>(kChunkRowsTag);
      p = PutVarint(p, len[r]);
      std::memcpy(p, in.data(), in.size());
      p += in.size();
      for (const FeatureColumn* c : features) p = PutFeatureValue(p, *c, feature_row + r);
    }
  });
}

}  // namespace mlops::features::wire
