#pragma once
// The protobuf wire format of GetOnlineFeaturesResponse's rows, written
// directly from typed values: one OnlineFeatureRow is a few bytes per value
// (tag, length, the Value's one oneof field), so writing it needs no Value
// message per cell, no ByteSizeLong pass and no arena. The bytes are the
// canonical encoding protobuf's own serializer produces for the same
// message (fields in number order, proto3 oneof members written even when
// zero, statuses packed), so any client parses them as the proto says.
// Field numbers: proto/mlops/features/v1/features.proto (OnlineFeatureRow,
// GetOnlineFeaturesResponse) and proto/mlops/common/v1/common.proto (Value).
//
// WireBuffer: a growable byte buffer written through a raw cursor. Not
// thread-safe; one per call. Header-only.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/wire/proto_wire.h"

namespace mlops::features::wire {

// Tags (field number << 3 | wire type).
inline constexpr uint8_t kResponseRowsTag = (2 << 3) | 2;  // GetOnlineFeaturesResponse.rows
inline constexpr uint8_t kRowValuesTag = (1 << 3) | 2;     // OnlineFeatureRow.values
inline constexpr uint8_t kRowStatusesTag = (2 << 3) | 2;   // OnlineFeatureRow.statuses (packed)
inline constexpr uint8_t kInt64Tag = (1 << 3) | 0;         // Value.int64_value
inline constexpr uint8_t kDoubleTag = (2 << 3) | 1;        // Value.double_value (fixed64)
inline constexpr uint8_t kStringTag = (3 << 3) | 2;        // Value.string_value
inline constexpr uint8_t kBoolTag = (4 << 3) | 0;          // Value.bool_value
inline constexpr uint8_t kTimestampTag = (5 << 3) | 0;     // Value.timestamp_micros

using protowire::kMaxVarint;
using protowire::PutFixed64;
using protowire::PutVarint;
using protowire::VarintSize;

// One `OnlineFeatureRow.values` entry (tag, length, Value). Each writes at
// most kMaxValueBytes bytes (plus the string's length for strings).
inline constexpr size_t kMaxValueBytes = 3 + kMaxVarint;

inline char* PutNullValue(char* p) {  // an empty Value (NULL)
  p[0] = static_cast<char>(kRowValuesTag);
  p[1] = 0;
  return p + 2;
}

inline char* PutDoubleValue(char* p, double v) {
  p[0] = static_cast<char>(kRowValuesTag);
  p[1] = 9;
  p[2] = static_cast<char>(kDoubleTag);
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return PutFixed64(p + 3, bits);
}

// int64_value, timestamp_micros or bool_value (tag says which).
inline char* PutVarintValue(char* p, uint8_t tag, uint64_t v) {
  p[0] = static_cast<char>(kRowValuesTag);
  char* end = PutVarint(p + 3, v);
  p[1] = static_cast<char>(end - (p + 2));  // <= 11: one byte
  p[2] = static_cast<char>(tag);
  return end;
}

inline char* PutStringValue(char* p, std::string_view s) {
  *p++ = static_cast<char>(kRowValuesTag);
  p = PutVarint(p, 1 + VarintSize(s.size()) + s.size());
  *p++ = static_cast<char>(kStringTag);
  p = PutVarint(p, s.size());
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

class WireBuffer {
 public:
  // Makes room for `n` more bytes at cursor() (which may move).
  void Reserve(size_t n) {
    if (buf_.size() - size_ < n) buf_.resize(std::max(buf_.size() * 2, size_ + n));
  }
  char* cursor() { return buf_.data() + size_; }
  // Marks the bytes up to `end` (from cursor()) as written.
  void Advance(char* end) { size_ = static_cast<size_t>(end - buf_.data()); }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(buf_.data(), size_); }
  void Clear() { size_ = 0; }

  void Append(std::string_view bytes) {
    Reserve(bytes.size());
    std::memcpy(cursor(), bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  // A length-delimited field: tag, varint length, bytes.
  void AppendField(uint8_t tag, std::string_view bytes) {
    Reserve(1 + kMaxVarint + bytes.size());
    char* p = cursor();
    *p++ = static_cast<char>(tag);
    p = PutVarint(p, bytes.size());
    std::memcpy(p, bytes.data(), bytes.size());
    Advance(p + bytes.size());
  }

  // The written bytes; the buffer is left empty.
  std::string Release() {
    buf_.resize(size_);
    size_ = 0;
    return std::move(buf_);
  }

 private:
  std::string buf_;
  size_t size_ = 0;
};

}  // namespace mlops::features::wire
