#include "common/stats/hyperloglog.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/stats/byte_io.h"
#include "common/stats/hash.h"

namespace mlops::stats {
namespace {

// Register values run from 0 to kQ + 1, kQ = 64 - p bits left after the index.
constexpr int kQ = 64 - HyperLogLog::kPrecision;
constexpr int kSparseLimit = HyperLogLog::kRegisters / 4;
constexpr uint8_t kDense = 0;
constexpr uint8_t kSparse = 1;

// Ertl's sigma(x) for the zero registers; bounded: x squares towards 0.
double Sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1.0;
  double z = x;
  for (int i = 0; i < 1000; ++i) {
    x *= x;
    const double z_old = z;
    z += x * y;
    y += y;
    if (z == z_old) break;
  }
  return z;
}

// Ertl's tau(x) for the saturated registers; bounded: sqrt(x) tends to 1.
double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (int i = 0; i < 1000; ++i) {
    x = std::sqrt(x);
    const double z_old = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == z_old) break;
  }
  return z / 3;
}

}  // namespace

HyperLogLog::HyperLogLog() : registers_(kRegisters, 0) {}

void HyperLogLog::AddBytes(std::string_view bytes) { AddHash(XxHash64(bytes)); }

void HyperLogLog::Merge(const HyperLogLog& other) {
  for (int i = 0; i < kRegisters; ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

bool HyperLogLog::empty() const {
  return std::all_of(registers_.begin(), registers_.end(), [](uint8_t r) { return r == 0; });
}

double HyperLogLog::Estimate() const {
  int histogram[kQ + 2] = {0};
  for (uint8_t r : registers_) ++histogram[r];
  const double m = kRegisters;
  if (histogram[0] == kRegisters) return 0.0;
  double z = m * Tau(1.0 - histogram[kQ + 1] / m);
  for (int k = kQ; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  const double alpha_inf = 0.5 / std::log(2.0);
  return alpha_inf * m * m / z;
}

std::string HyperLogLog::Serialize() const {
  std::string out;
  ByteWriter w(&out);
  w.U8(kFormatVersion);
  w.U8(kPrecision);
  const int set = static_cast<int>(
      std::count_if(registers_.begin(), registers_.end(), [](uint8_t r) { return r != 0; }));
  if (set < kSparseLimit) {
    w.U8(kSparse);
    w.U16(static_cast<uint16_t>(set));
    for (int i = 0; i < kRegisters; ++i) {
      if (registers_[i] == 0) continue;
      w.U16(static_cast<uint16_t>(i));
      w.U8(registers_[i]);
    }
  } else {
    w.U8(kDense);
    w.Raw(std::string_view(reinterpret_cast<const char*>(registers_.data()), registers_.size()));
  }
  return out;
}

absl::StatusOr<HyperLogLog> HyperLogLog::Deserialize(std::string_view bytes) {
  const auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("distinct sketch: ", what));
  };
  ByteReader r(bytes);
  uint8_t version, precision, encoding;
  if (!r.U8(&version)) return bad("empty");
  if (version != kFormatVersion) return bad(absl::StrCat("unknown format version ", version));
  if (!r.U8(&precision) || !r.U8(&encoding)) return bad("truncated header");
  if (precision != kPrecision) return bad(absl::StrCat("unsupported precision ", precision));
  HyperLogLog hll;
  if (encoding == kDense) {
    std::string_view raw;
    if (!r.Raw(kRegisters, &raw)) return bad("truncated registers");
    for (int i = 0; i < kRegisters; ++i) hll.registers_[i] = static_cast<uint8_t>(raw[i]);
  } else if (encoding == kSparse) {
    uint16_t n;
    if (!r.U16(&n) || n >= kSparseLimit) return bad("invalid sparse count");
    int previous = -1;
    for (int i = 0; i < n; ++i) {
      uint16_t index;
      uint8_t value;
      if (!r.U16(&index) || !r.U8(&value)) return bad("truncated sparse entry");
      if (index >= kRegisters || index <= previous || value == 0) return bad("invalid sparse entry");
      hll.registers_[index] = value;
      previous = index;
    }
  } else {
    return bad(absl::StrCat("unknown encoding ", encoding));
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  for (uint8_t v : hll.registers_) {
    if (v > kQ + 1) return bad("register value out of range");
  }
  return hll;
}

}  // namespace mlops::stats
