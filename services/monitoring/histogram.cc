#include "services/monitoring/histogram.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mlops::monitoring {
namespace {

constexpr char kOtherKey[] = "(other)";

absl::Status ValidateEdges(const std::vector<double>& edges, const std::string& what) {
  if (edges.size() < 2) {
    return absl::InvalidArgumentError(what + ": histogram needs at least 2 edges");
  }
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!std::isfinite(edges[i])) {
      return absl::InvalidArgumentError(what + ": edge " + std::to_string(i) + " is not finite");
    }
    if (i > 0 && !(edges[i] > edges[i - 1])) {
      return absl::InvalidArgumentError(what + ": edge " + std::to_string(i) +
                                        " is not greater than the previous edge");
    }
  }
  return absl::OkStatus();
}

absl::Status AddCounts(const CategoryCounts& c, const std::string& side,
                       std::map<std::string, std::pair<int64_t, int64_t>>* merged, bool first) {
  std::map<std::string, bool> seen;
  for (const CategoryCount& cc : c.categories) {
    if (cc.count < 0) {
      return absl::InvalidArgumentError(side + " category \"" + cc.value + "\": negative count");
    }
    if (!seen.emplace(cc.value, true).second) {
      return absl::InvalidArgumentError(side + " category \"" + cc.value + "\": listed twice");
    }
    auto& slot = (*merged)[cc.value];
    (first ? slot.first : slot.second) += cc.count;
  }
  if (c.other_count < 0) return absl::InvalidArgumentError(side + ": negative other_count");
  return absl::OkStatus();
}

}  // namespace

int64_t Histogram::Total() const {
  int64_t total = underflow + overflow;
  for (int64_t c : counts) total += c;
  return total;
}

std::vector<double> Histogram::AllBins() const {
  std::vector<double> out;
  out.reserve(counts.size() + 2);
  out.push_back(static_cast<double>(underflow));
  for (int64_t c : counts) out.push_back(static_cast<double>(c));
  out.push_back(static_cast<double>(overflow));
  return out;
}

absl::Status ValidateHistogram(const Histogram& h, const std::string& what) {
  if (absl::Status s = ValidateEdges(h.edges, what); !s.ok()) return s;
  if (h.counts.size() + 1 != h.edges.size()) {
    return absl::InvalidArgumentError(what + ": " + std::to_string(h.counts.size()) +
                                      " counts for " + std::to_string(h.edges.size()) + " edges");
  }
  if (h.underflow < 0 || h.overflow < 0) {
    return absl::InvalidArgumentError(what + ": negative underflow or overflow");
  }
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (h.counts[i] < 0) {
      return absl::InvalidArgumentError(what + ": bin " + std::to_string(i) + " negative count");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSameEdges(const Histogram& a, const Histogram& b) {
  if (absl::Status s = ValidateHistogram(a, "reference histogram"); !s.ok()) return s;
  if (absl::Status s = ValidateHistogram(b, "current histogram"); !s.ok()) return s;
  if (a.edges != b.edges) {
    return absl::InvalidArgumentError("reference and current histograms have different edges");
  }
  return absl::OkStatus();
}

absl::StatusOr<Histogram> HistogramOfSorted(const SortedSample& sample,
                                            const std::vector<double>& edges) {
  if (absl::Status s = ValidateEdges(edges, "edges"); !s.ok()) return s;
  Histogram h;
  h.edges = edges;
  h.counts.assign(edges.size() - 1, 0);
  const std::vector<double>& v = sample.values();
  // below[i] = number of values < edges[i]; the last bin also takes values
  // equal to the last edge.
  auto below = [&](double e) {
    return static_cast<int64_t>(std::lower_bound(v.begin(), v.end(), e) - v.begin());
  };
  const int64_t at_or_below_last = static_cast<int64_t>(
      std::upper_bound(v.begin(), v.end(), edges.back()) - v.begin());
  int64_t prev = below(edges[0]);
  h.underflow = prev;
  for (size_t i = 1; i < edges.size(); ++i) {
    const int64_t cur = i + 1 == edges.size() ? at_or_below_last : below(edges[i]);
    h.counts[i - 1] = cur - prev;
    prev = cur;
  }
  h.overflow = static_cast<int64_t>(v.size()) - at_or_below_last;
  if (!sample.empty()) {
    h.min = sample.min();
    h.max = sample.max();
  }
  return h;
}

absl::StatusOr<Histogram> HistogramOfValues(const std::vector<double>& values,
                                            const std::vector<double>& edges) {
  if (absl::Status s = ValidateEdges(edges, "edges"); !s.ok()) return s;
  Histogram h;
  h.edges = edges;
  h.counts.assign(edges.size() - 1, 0);
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = values[i];
    if (!std::isfinite(x)) {
      return absl::InvalidArgumentError("value " + std::to_string(i) + ": not finite");
    }
    if (x < edges.front()) {
      ++h.underflow;
    } else if (x > edges.back()) {
      ++h.overflow;
    } else if (x == edges.back()) {
      ++h.counts.back();
    } else {
      const size_t bin = std::upper_bound(edges.begin(), edges.end(), x) - edges.begin() - 1;
      ++h.counts[bin];
    }
    h.min = i == 0 ? x : std::min(h.min, x);
    h.max = i == 0 ? x : std::max(h.max, x);
  }
  return h;
}

std::vector<double> EqualWidthEdges(double lo, double hi, int bins) {
  if (bins < 1) bins = 1;
  if (!(hi > lo)) return {lo - 0.5, lo + 0.5};
  std::vector<double> edges(bins + 1);
  for (int i = 0; i <= bins; ++i) edges[i] = lo + (hi - lo) * i / bins;
  edges[bins] = hi;
  return edges;
}

int64_t CategoryCounts::Total() const {
  int64_t total = other_count;
  for (const CategoryCount& c : categories) total += c.count;
  return total;
}

absl::StatusOr<AlignedCounts> AlignCategories(const CategoryCounts& reference,
                                              const CategoryCounts& current) {
  std::map<std::string, std::pair<int64_t, int64_t>> merged;
  if (absl::Status s = AddCounts(reference, "reference", &merged, true); !s.ok()) return s;
  if (absl::Status s = AddCounts(current, "current", &merged, false); !s.ok()) return s;
  AlignedCounts out;
  for (const auto& [key, counts] : merged) {
    out.keys.push_back(key);
    out.reference.push_back(static_cast<double>(counts.first));
    out.current.push_back(static_cast<double>(counts.second));
  }
  if (reference.other_count > 0 || current.other_count > 0) {
    out.keys.push_back(kOtherKey);
    out.reference.push_back(static_cast<double>(reference.other_count));
    out.current.push_back(static_cast<double>(current.other_count));
  }
  return out;
}

}  // namespace mlops::monitoring
