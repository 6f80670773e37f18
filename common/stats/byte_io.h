#pragma once
// Little-endian byte encoding used by every serialized sketch and by the
// dataset version hash. ByteWriter appends to a caller-owned std::string;
// ByteReader reads from a view and reports truncation instead of overrunning.
// Neither is thread-safe; both are cheap value types.

#include <cstdint>
#include <string>
#include <string_view>

namespace mlops::stats {

// The bit pattern of `v` with -0.0 as +0.0 and every NaN as the quiet NaN
// 0x7ff8000000000000, so that equal values encode equally.
uint64_t CanonicalDoubleBits(double v);

// Appends fixed-width little-endian integers and IEEE-754 doubles (by bit
// pattern) to `out`. Does not own `out`.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  // The double's bit pattern, unchanged (no canonicalisation here).
  void F64(double v);
  // u32 length, then the bytes.
  void LengthPrefixed(std::string_view bytes);
  void Raw(std::string_view bytes) { out_->append(bytes.data(), bytes.size()); }

 private:
  void Le(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string* out_;
};

// Reads what ByteWriter wrote. Every read returns false (and leaves the
// output untouched) when fewer bytes remain than it needs.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t* v);
  bool U16(uint16_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool F64(double* v);
  bool Raw(size_t n, std::string_view* bytes);
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool Le(int width, uint64_t* v);
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace mlops::stats
