#include "services/monitoring/sorted_sample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "services/monitoring/parallel_for.h"

namespace mlops::monitoring {
namespace {

// Below this size std::sort beats the radix sort's fixed costs; below
// kInsertionSortMax, insertion sort beats std::sort.
constexpr size_t kRadixMinSize = 2048;
constexpr size_t kInsertionSortMax = 32;
constexpr int kDigitBits = 8;
constexpr int kBuckets = 1 << kDigitBits;
constexpr int kPasses = 64 / kDigitBits;  // 8

// Order-preserving map from a finite double to an unsigned key: flip all
// bits of negatives, only the sign bit of non-negatives.
inline uint64_t ToKey(double x) {
  x += 0.0;  // -0.0 -> +0.0
  uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  const uint64_t mask = (0 - (bits >> 63)) | (uint64_t{1} << 63);
  return bits ^ mask;
}

inline int Digit(uint64_t key, int pass) {
  return static_cast<int>((key >> (pass * kDigitBits)) & (kBuckets - 1));
}

// Key bit patterns parked in the double array between passes.
inline uint64_t LoadBits(const double* p) {
  uint64_t bits = 0;
  std::memcpy(&bits, p, sizeof bits);
  return bits;
}
inline void StoreBits(double* p, uint64_t bits) { std::memcpy(p, &bits, sizeof bits); }

inline double FromKey(uint64_t key) {
  const uint64_t mask = ((key >> 63) - 1) | (uint64_t{1} << 63);
  const uint64_t bits = key ^ mask;
  double x = 0;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// One LSD pass: every key to its bucket's next slot (h holds the offsets).
template <typename Load, typename Store>
void ScatterPass(size_t n, uint32_t* h, int pass, Load load, Store store) {
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = load(i);
    store(h[Digit(k, pass)]++, k);
  }
}

// Stable LSD radix sort of data[0..n) by key digits [first_digit, end_digit),
// ping-ponging between `data` (holding key bit patterns between passes) and
// tmp[0..n); the first pass converts doubles to keys, the pass that writes the
// final order converts back. Digits shared by every key are skipped.
void LsdSort(double* data, uint64_t* tmp, size_t n, int first_digit, int end_digit) {
  uint32_t hist[kPasses][kBuckets] = {};
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = ToKey(data[i]);
    for (int p = first_digit; p < end_digit; ++p) ++hist[p][Digit(k, p)];
  }
  int passes[kPasses];
  int num_passes = 0;
  const uint64_t first_key = ToKey(data[0]);
  for (int p = first_digit; p < end_digit; ++p) {
    uint32_t* h = hist[p];
    if (h[Digit(first_key, p)] == n) continue;
    passes[num_passes++] = p;
    uint32_t offset = 0;
    for (int d = 0; d < kBuckets; ++d) {
      const uint32_t c = h[d];
      h[d] = offset;
      offset += c;
    }
  }
  for (int a = 0; a < num_passes; ++a) {
    const int p = passes[a];
    uint32_t* h = hist[p];
    const bool into_values = a % 2 == 1;
    const bool last = a + 1 == num_passes;
    if (a == 0) {
      ScatterPass(n, h, p, [&](size_t i) { return ToKey(data[i]); },
                  [&](uint32_t d, uint64_t k) { tmp[d] = k; });
    } else if (!into_values) {
      ScatterPass(n, h, p, [&](size_t i) { return LoadBits(data + i); },
                  [&](uint32_t d, uint64_t k) { tmp[d] = k; });
    } else if (last) {
      ScatterPass(n, h, p, [&](size_t i) { return tmp[i]; },
                  [&](uint32_t d, uint64_t k) { data[d] = FromKey(k); });
    } else {
      ScatterPass(n, h, p, [&](size_t i) { return tmp[i]; },
                  [&](uint32_t d, uint64_t k) { StoreBits(data + d, k); });
    }
  }
  // An odd number of passes leaves the order in tmp.
  if (num_passes % 2 == 1) {
    for (size_t i = 0; i < n; ++i) data[i] = FromKey(tmp[i]);
  }
}

// Sorts a run of values whose keys share their top 32 bits; makes -0.0 +0.0.
void FinishRun(double* data, uint64_t* tmp, size_t n) {
  for (size_t i = 0; i < n; ++i) data[i] += 0.0;
  if (n <= 1) return;
  if (n <= kInsertionSortMax) {
    for (size_t i = 1; i < n; ++i) {
      const double x = data[i];
      size_t j = i;
      for (; j > 0 && data[j - 1] > x; --j) data[j] = data[j - 1];
      data[j] = x;
    }
  } else if (n < kRadixMinSize) {
    std::sort(data, data + n);
  } else {
    LsdSort(data, tmp, n, 0, kPasses / 2);
  }
}

absl::Status NonFiniteError(size_t index, double value) {
  return absl::InvalidArgumentError("value " + std::to_string(index) + ": " +
                                    (std::isnan(value) ? "NaN" : "infinity") +
                                    " not allowed in a sample");
}

absl::Status CheckFinite(const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return NonFiniteError(i, values[i]);
  }
  return absl::OkStatus();
}

double Sum(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum;
}

// Mean and population standard deviation of finite values with sum `sum`
// (two-pass: the squared deviations from the mean).
void Moments(const std::vector<double>& values, double sum, double* mean, double* stddev) {
  if (values.empty()) {
    *mean = NAN;
    *stddev = NAN;
    return;
  }
  double m = sum / values.size();
  if (!std::isfinite(m)) {  // the sum of huge finite values overflowed
    m = 0;
    for (double v : values) m += v / values.size();
  }
  double m2 = 0;
  for (double v : values) m2 += (v - m) * (v - m);
  *mean = m;
  *stddev = std::sqrt(m2 / values.size());
}

}  // namespace

void RadixSortFinite(std::vector<double>* values, std::vector<uint64_t>* scratch) {
  const size_t n = values->size();
  if (n < kRadixMinSize) {
    for (double& v : *values) v += 0.0;
    std::sort(values->begin(), values->end());
    return;
  }
  std::vector<uint64_t> own_scratch;
  if (scratch == nullptr) scratch = &own_scratch;
  if (scratch->size() < n) scratch->resize(n);
  double* data = values->data();
  uint64_t* tmp = scratch->data();
  // Most of the order is in the top 32 bits of the keys: sort by those
  // (four 8-bit passes), then finish each run of keys sharing them.
  LsdSort(data, tmp, n, kPasses / 2, kPasses);
  size_t start = 0;
  uint64_t start_high = ToKey(data[0]) >> 32;
  for (size_t i = 1; i <= n; ++i) {
    const uint64_t high = i < n ? ToKey(data[i]) >> 32 : ~uint64_t{0};
    if (high == start_high) continue;
    FinishRun(data + start, tmp + start, i - start);
    start = i;
    start_high = high;
  }
}

absl::StatusOr<SortedSample> SortedSample::FromValues(std::vector<double> values,
                                                      std::vector<uint64_t>* scratch) {
  // One pass both sums (for the mean) and screens for NaN and infinity: a
  // non-finite value makes the sum non-finite (so can an overflowing sum of
  // huge finite values; CheckFinite then finds nothing to report).
  const double sum = Sum(values);
  if (!std::isfinite(sum)) {
    if (absl::Status s = CheckFinite(values); !s.ok()) return s;
  }
  RadixSortFinite(&values, scratch);
  double mean = 0;
  double stddev = 0;
  Moments(values, sum, &mean, &stddev);
  return SortedSample(std::move(values), mean, stddev);
}

absl::StatusOr<SortedSample> SortedSample::FromSorted(std::vector<double> values) {
  if (absl::Status s = CheckFinite(values); !s.ok()) return s;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] < values[i - 1]) {
      return absl::InvalidArgumentError("value " + std::to_string(i) +
                                        ": sample is not sorted ascending");
    }
  }
  double mean = 0;
  double stddev = 0;
  Moments(values, Sum(values), &mean, &stddev);
  return SortedSample(std::move(values), mean, stddev);
}

absl::StatusOr<std::vector<SortedSample>> SortColumns(std::vector<std::vector<double>> columns,
                                                      int num_threads) {
  std::vector<SortedSample> out(columns.size());
  std::vector<absl::Status> errors(columns.size());
  std::vector<std::vector<uint64_t>> scratch(ParallelWorkers(columns.size(), num_threads));
  ParallelForWorkers(columns.size(), num_threads, [&](size_t worker, size_t i) {
    absl::StatusOr<SortedSample> s =
        SortedSample::FromValues(std::move(columns[i]), &scratch[worker]);
    if (s.ok()) {
      out[i] = *std::move(s);
    } else {
      errors[i] = absl::InvalidArgumentError("column " + std::to_string(i) + ", " +
                                             std::string(s.status().message()));
    }
  });
  for (absl::Status& e : errors) {
    if (!e.ok()) return e;
  }
  return out;
}

}  // namespace mlops::monitoring
