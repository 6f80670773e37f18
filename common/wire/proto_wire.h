#pragma once
// The protobuf wire format's primitives (varints, fixed64, tags and
// length-delimited fields), for the hot paths that write or read a message's
// bytes directly instead of building a message per row: features' online and
// historical responses, ingestion's ReadDatasetVersion, and features' decoder
// of that stream. https://protobuf.dev/programming-guides/encoding/
//
// Pure functions over raw cursors; thread-safe. Header-only. Readers return
// false on malformed input and never read past `end`.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace mlops::protowire {

// Longest varint (a negative int64): 10 bytes.
inline constexpr size_t kMaxVarint = 10;

// Wire types.
inline constexpr uint32_t kVarint = 0;
inline constexpr uint32_t kFixed64 = 1;
inline constexpr uint32_t kLengthDelimited = 2;
inline constexpr uint32_t kFixed32 = 5;

inline size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

inline void AppendVarint(std::string* out, uint64_t v) {
  char buf[kMaxVarint];
  out->append(buf, static_cast<size_t>(PutVarint(buf, v) - buf));
}

// Little-endian, as the wire format says, whatever the host's byte order.
inline char* PutFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
  return p + 8;
}

inline bool ReadVarint(const char*& p, const char* end, uint64_t* out) {
  if (p < end && static_cast<uint8_t>(*p) < 0x80) {  // the common one-byte case
    *out = static_cast<uint8_t>(*p++);
    return true;
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const auto b = static_cast<uint8_t>(*p++);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *out = v;
      return true;
    }
  }
  return false;
}

// Skips the value of a field of `wire_type` whose tag was already read.
inline bool SkipField(uint32_t wire_type, const char*& p, const char* end) {
  uint64_t n = 0;
  switch (wire_type) {
    case kVarint: return ReadVarint(p, end, &n);
    case kFixed64:
      if (end - p < 8) return false;
      p += 8;
      return true;
    case kLengthDelimited:
      if (!ReadVarint(p, end, &n) || n > static_cast<uint64_t>(end - p)) return false;
      p += n;
      return true;
    case kFixed32:
      if (end - p < 4) return false;
      p += 4;
      return true;
    default: return false;
  }
}

// One field: its number and wire type, and its value: `n` for varints and
// fixed64, `bytes` for length-delimited fields (fixed32 is skipped).
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t n = 0;
  std::string_view bytes;
};

// Reads the field at `p` (its tag, then its value) and advances past it.
inline bool ReadField(const char*& p, const char* end, Field* f) {
  uint64_t tag = 0;
  if (!ReadVarint(p, end, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return false;
  f->number = static_cast<uint32_t>(tag >> 3);
  f->wire_type = static_cast<uint32_t>(tag & 7);
  switch (f->wire_type) {
    case kVarint: return ReadVarint(p, end, &f->n);
    case kFixed64: {
      if (end - p < 8) return false;
      uint64_t v = 0;
      for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
      f->n = v;
      p += 8;
      return true;
    }
    case kLengthDelimited: {
      uint64_t len = 0;
      if (!ReadVarint(p, end, &len) || len > static_cast<uint64_t>(end - p)) return false;
      f->bytes = std::string_view(p, len);
      p += len;
      return true;
    }
    default: return SkipField(f->wire_type, p, end);
  }
}

}  // namespace mlops::protowire
