#pragma once
// Sorting of doubles by an LSD radix sort over their order-preserving 64-bit
// keys, for the quantile sketch's level-0 compactions (about a third of the
// cost of profiling a numeric column with std::sort). Bytes that every key
// shares (typically the sign and high exponent bits) are skipped, so values
// within a few binades sort in 3 to 6 passes. The order is std::sort's for
// every finite value; -0.0 sorts before +0.0 (std::sort leaves equal values in
// either order). NaN must not be passed.
//
// A reusable scratch holder; not thread-safe.

#include <cstdint>
#include <vector>

namespace mlops::stats {

class DoubleSorter {
 public:
  // Sorts `values` ascending.
  void Sort(std::vector<double>* values);

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint64_t> scratch_;
};

}  // namespace mlops::stats
