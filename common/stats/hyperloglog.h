#pragma once
// HyperLogLog distinct-count sketch with p = 14 (16384 one-byte registers,
// standard error 1.04 / sqrt(16384) = 0.81%), using Ertl's improved raw
// estimator ("New cardinality estimation algorithms for HyperLogLog
// sketches", 2017), which needs no empirical bias tables and is accurate from
// 0 to far beyond 2^32. Merging takes the register-wise maximum, so
// Merge(a, b) is identical to adding both inputs to one sketch. Values are
// hashed with XXH64 (seed 0) over caller-supplied canonical bytes.
//
// A value type; not thread-safe.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::stats {

class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr int kRegisters = 1 << kPrecision;
  // Serialization format version (the first byte).
  static constexpr uint8_t kFormatVersion = 1;

  HyperLogLog();

  // Adds a value given by its canonical bytes.
  void AddBytes(std::string_view bytes);
  // Adds a value given by its 64-bit hash (XxHash64 of its canonical bytes,
  // e.g. XxHash64U64 for 8 of them). Inline: it runs once per profiled value.
  void AddHash(uint64_t hash) {
    constexpr int kQ = 64 - kPrecision;
    const uint64_t rest = hash << kPrecision;  // the low kQ bits, left-aligned
    // Leading zeros of the kQ remaining bits, plus one; kQ + 1 when all zero.
    const int rank = rest == 0 ? kQ + 1 : std::min(__builtin_clzll(rest) + 1, kQ + 1);
    uint8_t& reg = registers_[static_cast<uint32_t>(hash >> kQ)];
    if (rank > reg) reg = static_cast<uint8_t>(rank);
  }
  void Merge(const HyperLogLog& other);

  double Estimate() const;
  bool empty() const;

  // Format v1: u8 version, u8 precision, u8 encoding, then
  //   encoding 0 (dense): 16384 register bytes;
  //   encoding 1 (sparse, used when fewer than 4096 registers are set):
  //     u16 count, then count x (u16 index, u8 value), indices increasing.
  std::string Serialize() const;
  static absl::StatusOr<HyperLogLog> Deserialize(std::string_view bytes);

  friend bool operator==(const HyperLogLog& a, const HyperLogLog& b) {
    return a.registers_ == b.registers_;
  }

 private:
  std::vector<uint8_t> registers_;
};

}  // namespace mlops::stats
