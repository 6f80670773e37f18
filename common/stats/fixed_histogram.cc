#include "common/stats/fixed_histogram.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace mlops::stats {

int64_t Histogram::Total() const {
  int64_t total = underflow + overflow;
  for (int64_t c : counts) total += c;
  return total;
}

namespace {

std::vector<double> EqualWidth(double lo, double hi, int num_bins) {
  std::vector<double> edges(num_bins + 1);
  const double step = (hi - lo) / num_bins;
  for (int i = 0; i < num_bins; ++i) {
    const double t = static_cast<double>(i) / num_bins;
    // hi - lo overflows only for ranges near the largest doubles: interpolate.
    edges[i] = std::isfinite(step) ? lo + step * i : lo * (1 - t) + hi * t;
  }
  edges[num_bins] = hi;
  return edges;
}

bool StrictlyIncreasing(const std::vector<double>& edges) {
  for (size_t i = 1; i < edges.size(); ++i) {
    if (!(edges[i - 1] < edges[i])) return false;
  }
  return true;
}

}  // namespace

std::vector<double> ChooseHistogramEdges(double min, double max, int num_bins) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max || num_bins < 1) return {};
  if (min < max) {
    std::vector<double> edges = EqualWidth(min, max, num_bins);
    if (StrictlyIncreasing(edges)) return edges;
  }
  const double centre = min / 2 + max / 2;
  double half = std::max({std::abs(centre) * 0.05, 0.5, (max - min) / 2});
  // Bounded: each round doubles `half`; 64 rounds exceed any double's ulp.
  for (int round = 0; round < 64; ++round, half *= 2) {
    std::vector<double> edges = EqualWidth(centre - half, centre + half, num_bins);
    if (StrictlyIncreasing(edges) && std::isfinite(edges.front()) && std::isfinite(edges.back())) {
      return edges;
    }
  }
  return {};
}

absl::Status ValidateHistogramEdges(const std::vector<double>& edges) {
  if (edges.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram needs at least 2 edges, got ", edges.size()));
  }
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!std::isfinite(edges[i])) {
      return absl::InvalidArgumentError(absl::StrCat("histogram edge ", i, " is not finite"));
    }
    if (i > 0 && !(edges[i - 1] < edges[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram edges must strictly increase: edge ", i, " (", edges[i],
                       ") <= edge ", i - 1, " (", edges[i - 1], ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FixedHistogram> FixedHistogram::Create(std::vector<double> edges) {
  if (absl::Status s = ValidateHistogramEdges(edges); !s.ok()) return s;
  FixedHistogram h;
  h.data_.counts.assign(edges.size() - 1, 0);
  h.data_.edges = std::move(edges);
  return h;
}

absl::StatusOr<FixedHistogram> FixedHistogram::FromData(Histogram data) {
  if (data.underflow < 0 || data.overflow < 0) {
    return absl::InvalidArgumentError("histogram underflow/overflow must not be negative");
  }
  if (data.edges.empty()) {
    if (!data.counts.empty() || data.underflow != 0 || data.overflow != 0) {
      return absl::InvalidArgumentError("histogram without edges must have no counts");
    }
    return FixedHistogram();
  }
  if (absl::Status s = ValidateHistogramEdges(data.edges); !s.ok()) return s;
  if (data.counts.size() + 1 != data.edges.size()) {
    return absl::InvalidArgumentError(absl::StrCat("histogram has ", data.edges.size(),
                                                   " edges but ", data.counts.size(),
                                                   " counts; expected edges - 1"));
  }
  for (int64_t c : data.counts) {
    if (c < 0) return absl::InvalidArgumentError("histogram counts must not be negative");
  }
  FixedHistogram h;
  h.data_ = std::move(data);
  return h;
}

int FixedHistogram::BinOf(double x) const {
  const std::vector<double>& e = data_.edges;
  if (e.empty() || x < e.front()) return -1;
  if (x > e.back()) return num_bins();
  if (x == e.back()) return num_bins() - 1;
  return static_cast<int>(std::upper_bound(e.begin(), e.end(), x) - e.begin()) - 1;
}

void FixedHistogram::Add(double x, int64_t weight) {
  if (data_.edges.empty()) return;
  const int bin = BinOf(x);
  if (bin < 0) {
    data_.underflow += weight;
  } else if (bin >= num_bins()) {
    data_.overflow += weight;
  } else {
    data_.counts[bin] += weight;
  }
}

absl::Status FixedHistogram::Merge(const FixedHistogram& other) {
  if (other.data_.edges.empty()) return absl::OkStatus();
  if (data_.edges.empty()) {
    data_ = other.data_;
    return absl::OkStatus();
  }
  if (data_.edges != other.data_.edges) {
    return absl::FailedPreconditionError(
        "histograms with different edges do not merge (edges are fixed per dataset)");
  }
  for (size_t i = 0; i < data_.counts.size(); ++i) data_.counts[i] += other.data_.counts[i];
  data_.underflow += other.data_.underflow;
  data_.overflow += other.data_.overflow;
  return absl::OkStatus();
}

std::vector<int64_t> BinsWithOutliers(const Histogram& h) {
  std::vector<int64_t> bins;
  bins.reserve(h.counts.size() + 2);
  bins.push_back(h.underflow);
  bins.insert(bins.end(), h.counts.begin(), h.counts.end());
  bins.push_back(h.overflow);
  return bins;
}

}  // namespace mlops::stats
