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
constexpr int kBuckets = 256;  // 8-bit digits within a group
constexpr int kTopBits = 16;   // the grouping pass's digit

// Order-preserving map from a finite double to an unsigned key: flip all
// bits of negatives, only the sign bit of non-negatives.
inline uint64_t ToKey(double x) {
  x += 0.0;  // -0.0 -> +0.0
  uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  const uint64_t mask = (0 - (bits >> 63)) | (uint64_t{1} << 63);
  return bits ^ mask;
}

inline double FromKey(uint64_t key) {
  const uint64_t mask = ((key >> 63) - 1) | (uint64_t{1} << 63);
  const uint64_t bits = key ^ mask;
  double x = 0;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Sorts the keys g[0..n) sharing their top kTopBits bits (`tmp`: n slots of
// working memory): small groups by insertion, others by two LSD passes on
// the next 16 bits (skipping a digit every key shares), then each run of
// keys sharing their top 32 bits by insertion or std::sort.
void SortGroup(uint64_t* g, uint64_t* tmp, size_t n) {
  auto insertion = [](uint64_t* a, size_t m) {
    for (size_t i = 1; i < m; ++i) {
      const uint64_t x = a[i];
      size_t j = i;
      for (; j > 0 && a[j - 1] > x; --j) a[j] = a[j - 1];
      a[j] = x;
    }
  };
  if (n <= kInsertionSortMax) {
    insertion(g, n);
    return;
  }
  uint32_t hist[2][kBuckets] = {};
  for (size_t i = 0; i < n; ++i) {
    ++hist[0][(g[i] >> 32) & (kBuckets - 1)];
    ++hist[1][(g[i] >> 40) & (kBuckets - 1)];
  }
  uint64_t* from = g;
  uint64_t* to = tmp;
  for (int p = 0; p < 2; ++p) {
    const int shift = 32 + 8 * p;
    uint32_t* h = hist[p];
    if (h[(g[0] >> shift) & (kBuckets - 1)] == n) continue;
    uint32_t offset = 0;
    for (int d = 0; d < kBuckets; ++d) {
      const uint32_t c = h[d];
      h[d] = offset;
      offset += c;
    }
    for (size_t i = 0; i < n; ++i) to[h[(from[i] >> shift) & (kBuckets - 1)]++] = from[i];
    std::swap(from, to);
  }
  if (from != g) std::copy(from, from + n, g);
  size_t run = 0;
  for (size_t i = 1; i <= n; ++i) {
    if (i < n && (g[i] >> 32) == (g[run] >> 32)) continue;
    const size_t m = i - run;
    if (m > kInsertionSortMax) {
      std::sort(g + run, g + i);
    } else if (m > 1) {
      insertion(g + run, m);
    }
    run = i;
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

namespace {

// The radix sort of RadixSortFinite on n >= kRadixMinSize values. With
// `moments` (FromValues), the key pass also sums the values (in input order,
// as Sum) and, when the sum is finite, the write-back pass accumulates the
// squared deviations from the mean (in ascending order, as Moments): two
// fewer passes over main memory. Returns false, leaving `values` unsorted,
// when the sum is not finite and a value is NaN or infinite (its index in
// *bad_index).
struct FusedMoments {
  double sum = 0;
  bool have_m2 = false;  // false: the sum overflowed; Moments computes them
  double m2 = 0;
  size_t bad_index = 0;
};

bool RadixSortLarge(std::vector<double>* values, std::vector<uint64_t>* scratch,
                    FusedMoments* moments) {
  const size_t n = values->size();
  // Scratch: keys, grouped keys, then the group starts and cursors (kept
  // with the rest: as fresh allocations of 512 KB each they were mmapped,
  // page-faulted and unmapped for every column).
  constexpr size_t kGroups = size_t{1} << kTopBits;
  std::vector<uint64_t> own_scratch;
  if (scratch == nullptr) scratch = &own_scratch;
  if (scratch->size() < 2 * n + 2 * kGroups + 1) scratch->resize(2 * n + 2 * kGroups + 1);
  double* data = values->data();
  uint64_t* keys = scratch->data();
  uint64_t* grouped = keys + n;
  uint64_t* start = grouped + n;         // kGroups + 1 entries
  uint64_t* next = start + kGroups + 1;  // kGroups entries
  std::fill(start, start + kGroups + 1, 0);
  // One pass over main memory groups the keys by their top 16 bits (sign,
  // exponent, 4 mantissa bits); each group is then small enough to sort in
  // cache.
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = data[i];
    sum += x;
    const uint64_t k = ToKey(x);
    keys[i] = k;
    ++start[(k >> (64 - kTopBits)) + 1];
  }
  double mean = 0;
  if (moments != nullptr) {
    moments->sum = sum;
    if (!std::isfinite(sum)) {
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(data[i])) {
          moments->bad_index = i;
          return false;
        }
      }
    } else {
      moments->have_m2 = true;
      mean = sum / static_cast<double>(n);
    }
  }
  const bool with_m2 = moments != nullptr && moments->have_m2;
  for (size_t b = 1; b <= kGroups; ++b) start[b] += start[b - 1];
  std::copy(start, start + kGroups, next);
  for (size_t i = 0; i < n; ++i) grouped[next[keys[i] >> (64 - kTopBits)]++] = keys[i];
  double m2 = 0;
  for (size_t b = 0; b < kGroups; ++b) {
    const size_t lo = start[b];
    const size_t len = start[b + 1] - lo;
    if (len == 0) continue;
    SortGroup(grouped + lo, keys + lo, len);
    if (with_m2) {
      for (size_t i = 0; i < len; ++i) {
        const double v = FromKey(grouped[lo + i]);
        data[lo + i] = v;
        m2 += (v - mean) * (v - mean);
      }
    } else {
      for (size_t i = 0; i < len; ++i) data[lo + i] = FromKey(grouped[lo + i]);
    }
  }
  if (with_m2) moments->m2 = m2;
  return true;
}

}  // namespace

void RadixSortFinite(std::vector<double>* values, std::vector<uint64_t>* scratch) {
  if (values->size() < kRadixMinSize) {
    for (double& v : *values) v += 0.0;
    std::sort(values->begin(), values->end());
    return;
  }
  RadixSortLarge(values, scratch, nullptr);
}

absl::StatusOr<SortedSample> SortedSample::FromValues(std::vector<double> values,
                                                      std::vector<uint64_t>* scratch) {
  double mean = 0;
  double stddev = 0;
  if (values.size() >= kRadixMinSize) {
    FusedMoments fused;
    if (!RadixSortLarge(&values, scratch, &fused)) {
      return NonFiniteError(fused.bad_index, values[fused.bad_index]);
    }
    if (fused.have_m2) {
      mean = fused.sum / static_cast<double>(values.size());
      stddev = std::sqrt(fused.m2 / static_cast<double>(values.size()));
    } else {
      Moments(values, fused.sum, &mean, &stddev);
    }
    return SortedSample(std::move(values), mean, stddev);
  }
  // One pass both sums (for the mean) and screens for NaN and infinity: a
  // non-finite value makes the sum non-finite (so can an overflowing sum of
  // huge finite values; CheckFinite then finds nothing to report).
  const double sum = Sum(values);
  if (!std::isfinite(sum)) {
    if (absl::Status s = CheckFinite(values); !s.ok()) return s;
  }
  RadixSortFinite(&values, scratch);
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
