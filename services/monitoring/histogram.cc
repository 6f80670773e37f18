#include "services/monitoring/histogram.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

namespace mlops::monitoring {
namespace {

constexpr char kOtherKey[] = "(other)";

absl::Status AddCounts(const CategoryCounts& c, const std::string& side, bool is_reference,
                       std::map<std::string, std::pair<int64_t, int64_t>>* merged) {
  std::set<std::string> seen;
  for (const stats::CategoryCount& cc : c.categories) {
    if (cc.count < 0) {
      return absl::InvalidArgumentError(side + " category \"" + cc.value + "\": negative count");
    }
    if (!seen.insert(cc.value).second) {
      return absl::InvalidArgumentError(side + " category \"" + cc.value + "\": listed twice");
    }
    auto& slot = (*merged)[cc.value];
    (is_reference ? slot.first : slot.second) += cc.count;
  }
  if (c.other_count < 0) return absl::InvalidArgumentError(side + ": negative other_count");
  return absl::OkStatus();
}

std::string FormatValue(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

}  // namespace

absl::StatusOr<stats::Histogram> HistogramOfSorted(const SortedSample& sample,
                                                   const std::vector<double>& edges) {
  if (absl::Status s = stats::ValidateHistogramEdges(edges); !s.ok()) return s;
  stats::Histogram h;
  h.edges = edges;
  h.counts.assign(edges.size() - 1, 0);
  const std::vector<double>& v = sample.values();
  // Values < edges[i]; the last bin also takes values equal to the last edge.
  auto below = [&v](double e) {
    return static_cast<int64_t>(std::lower_bound(v.begin(), v.end(), e) - v.begin());
  };
  const int64_t at_or_below_last =
      static_cast<int64_t>(std::upper_bound(v.begin(), v.end(), edges.back()) - v.begin());
  int64_t prev = below(edges[0]);
  h.underflow = prev;
  for (size_t i = 1; i < edges.size(); ++i) {
    const int64_t cur = i + 1 == edges.size() ? at_or_below_last : below(edges[i]);
    h.counts[i - 1] = cur - prev;
    prev = cur;
  }
  h.overflow = static_cast<int64_t>(v.size()) - at_or_below_last;
  return h;
}

absl::Status ValidateComparableHistograms(const stats::Histogram& reference,
                                          const stats::Histogram& current) {
  const std::pair<const stats::Histogram*, const char*> sides[] = {{&reference, "reference"},
                                                                   {&current, "current"}};
  for (const auto& [h, side] : sides) {
    absl::StatusOr<stats::FixedHistogram> checked = stats::FixedHistogram::FromData(*h);
    if (!checked.ok()) {
      return absl::InvalidArgumentError(std::string(side) + " histogram: " +
                                        std::string(checked.status().message()));
    }
    if (h->edges.empty() || h->Total() <= 0) {
      return absl::InvalidArgumentError(std::string(side) + " histogram is empty");
    }
  }
  if (reference.edges != current.edges) {
    return absl::InvalidArgumentError("reference and current histograms have different edges");
  }
  return absl::OkStatus();
}

std::vector<double> BinsWithOutliersAsDoubles(const stats::Histogram& h) {
  std::vector<double> out;
  out.reserve(h.counts.size() + 2);
  out.push_back(static_cast<double>(h.underflow));
  for (int64_t c : h.counts) out.push_back(static_cast<double>(c));
  out.push_back(static_cast<double>(h.overflow));
  return out;
}

int64_t CategoryCounts::Total() const {
  int64_t total = other_count;
  for (const stats::CategoryCount& c : categories) total += c.count;
  return total;
}

absl::StatusOr<AlignedCounts> AlignCategories(const CategoryCounts& reference,
                                              const CategoryCounts& current) {
  std::map<std::string, std::pair<int64_t, int64_t>> merged;
  if (absl::Status s = AddCounts(reference, "reference", true, &merged); !s.ok()) return s;
  if (absl::Status s = AddCounts(current, "current", false, &merged); !s.ok()) return s;
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

AlignedCounts AlignDistinctValues(const SortedSample& reference, const SortedSample& current) {
  AlignedCounts out;
  const std::vector<double>& a = reference.values();
  const std::vector<double>& b = current.values();
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    const double x = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
    const size_t i0 = i;
    const size_t j0 = j;
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
    out.keys.push_back(FormatValue(x));
    out.reference.push_back(static_cast<double>(i - i0));
    out.current.push_back(static_cast<double>(j - j0));
  }
  return out;
}

AlignedCounts AlignHistogramBins(const stats::Histogram& reference,
                                 const stats::Histogram& current) {
  const std::vector<double> r = BinsWithOutliersAsDoubles(reference);
  const std::vector<double> c = BinsWithOutliersAsDoubles(current);
  AlignedCounts out;
  for (size_t i = 0; i < r.size() && i < c.size(); ++i) {
    if (r[i] == 0 && c[i] == 0) continue;
    out.keys.push_back(i == 0 ? "underflow" : (i + 1 == r.size() ? "overflow" : "bin " + std::to_string(i - 1)));
    out.reference.push_back(r[i]);
    out.current.push_back(c[i]);
  }
  return out;
}

}  // namespace mlops::monitoring
