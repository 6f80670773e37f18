#include "common/stats/radix_sort.h"

#include <algorithm>
#include <cstring>

namespace mlops::stats {
namespace {

// Below this many values std::sort is as fast and needs no scratch.
constexpr size_t kMinRadix = 64;

// Monotone map from doubles to unsigned integers: negative values have every
// bit flipped, others only the sign bit.
uint64_t KeyOf(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits >> 63) != 0 ? ~bits : bits | (uint64_t{1} << 63);
}

double ValueOf(uint64_t key) {
  const uint64_t bits = (key >> 63) != 0 ? key & ~(uint64_t{1} << 63) : ~key;
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace

void DoubleSorter::Sort(std::vector<double>* values) {
  const size_t n = values->size();
  if (n < kMinRadix) {
    std::sort(values->begin(), values->end());
    return;
  }
  keys_.resize(n);
  scratch_.resize(n);
  uint32_t counts[8][256] = {};
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = KeyOf((*values)[i]);
    keys_[i] = k;
    for (int b = 0; b < 8; ++b) ++counts[b][(k >> (8 * b)) & 0xff];
  }
  uint64_t* from = keys_.data();
  uint64_t* to = scratch_.data();
  for (int b = 0; b < 8; ++b) {
    uint32_t* c = counts[b];
    // A byte every key shares does not reorder anything.
    if (c[(from[0] >> (8 * b)) & 0xff] == n) continue;
    uint32_t sum = 0;
    for (int d = 0; d < 256; ++d) {
      const uint32_t count = c[d];
      c[d] = sum;
      sum += count;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t k = from[i];
      to[c[(k >> (8 * b)) & 0xff]++] = k;
    }
    std::swap(from, to);
  }
  for (size_t i = 0; i < n; ++i) (*values)[i] = ValueOf(from[i]);
}

}  // namespace mlops::stats
