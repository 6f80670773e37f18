#include "common/stats/byte_io.h"

#include <cstring>

namespace mlops::stats {

uint64_t CanonicalDoubleBits(double v) {
  if (v != v) return 0x7ff8000000000000ULL;
  if (v == 0.0) return 0;
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

void ByteWriter::F64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  U64(bits);
}

void ByteWriter::LengthPrefixed(std::string_view bytes) {
  U32(static_cast<uint32_t>(bytes.size()));
  Raw(bytes);
}

bool ByteReader::Le(int width, uint64_t* v) {
  if (remaining() < static_cast<size_t>(width)) return false;
  uint64_t r = 0;
  for (int i = 0; i < width; ++i) {
    r |= static_cast<uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
  }
  pos_ += width;
  *v = r;
  return true;
}

bool ByteReader::U8(uint8_t* v) {
  uint64_t r;
  if (!Le(1, &r)) return false;
  *v = static_cast<uint8_t>(r);
  return true;
}

bool ByteReader::U16(uint16_t* v) {
  uint64_t r;
  if (!Le(2, &r)) return false;
  *v = static_cast<uint16_t>(r);
  return true;
}

bool ByteReader::U32(uint32_t* v) {
  uint64_t r;
  if (!Le(4, &r)) return false;
  *v = static_cast<uint32_t>(r);
  return true;
}

bool ByteReader::U64(uint64_t* v) { return Le(8, v); }

bool ByteReader::I64(int64_t* v) {
  uint64_t r;
  if (!Le(8, &r)) return false;
  *v = static_cast<int64_t>(r);
  return true;
}

bool ByteReader::F64(double* v) {
  uint64_t bits;
  if (!Le(8, &bits)) return false;
  std::memcpy(v, &bits, sizeof bits);
  return true;
}

bool ByteReader::Raw(size_t n, std::string_view* bytes) {
  if (remaining() < n) return false;
  *bytes = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace mlops::stats
