#include "services/monitoring/sorted_sample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"

namespace mlops::monitoring {
namespace {

// Below this size std::sort beats the radix sort's fixed costs.
constexpr size_t kRadixMinSize = 2048;
constexpr int kDigitBits = 11;
constexpr int kBuckets = 1 << kDigitBits;
constexpr int kPasses = (64 + kDigitBits - 1) / kDigitBits;  // 6

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

// Mean and population standard deviation of sorted finite values (two pass).
void Moments(const std::vector<double>& values, double* mean, double* stddev) {
  if (values.empty()) {
    *mean = NAN;
    *stddev = NAN;
    return;
  }
  double sum = 0;
  for (double v : values) sum += v;
  const double m = sum / values.size();
  double m2 = 0;
  for (double v : values) m2 += (v - m) * (v - m);
  *mean = m;
  *stddev = std::sqrt(m2 / values.size());
}

}  // namespace

void RadixSortFinite(std::vector<double>* values) {
  const size_t n = values->size();
  if (n < kRadixMinSize) {
    for (double& v : *values) v += 0.0;
    std::sort(values->begin(), values->end());
    return;
  }
  std::vector<uint64_t> a(n);
  std::vector<uint64_t> b(n);
  // One read pass builds every digit's histogram.
  std::vector<uint32_t> hist(static_cast<size_t>(kPasses) * kBuckets, 0);
  const double* src = values->data();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = ToKey(src[i]);
    a[i] = k;
    for (int p = 0; p < kPasses; ++p) {
      ++hist[p * kBuckets + ((k >> (p * kDigitBits)) & (kBuckets - 1))];
    }
  }
  uint64_t* from = a.data();
  uint64_t* to = b.data();
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* h = &hist[p * kBuckets];
    // A digit shared by every key does not reorder anything: skip the pass.
    const int first_digit = static_cast<int>((from[0] >> (p * kDigitBits)) & (kBuckets - 1));
    if (h[first_digit] == n) continue;
    uint32_t offset = 0;
    for (int d = 0; d < kBuckets; ++d) {
      const uint32_t c = h[d];
      h[d] = offset;
      offset += c;
    }
    const int shift = p * kDigitBits;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t k = from[i];
      to[h[(k >> shift) & (kBuckets - 1)]++] = k;
    }
    std::swap(from, to);
  }
  double* dst = values->data();
  for (size_t i = 0; i < n; ++i) dst[i] = FromKey(from[i]);
}

absl::StatusOr<SortedSample> SortedSample::FromValues(std::vector<double> values) {
  if (absl::Status s = CheckFinite(values); !s.ok()) return s;
  RadixSortFinite(&values);
  double mean = 0;
  double stddev = 0;
  Moments(values, &mean, &stddev);
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
  Moments(values, &mean, &stddev);
  return SortedSample(std::move(values), mean, stddev);
}

}  // namespace mlops::monitoring
