#include "services/monitoring/histogram_drift.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/status/status_macros.h"
#include "services/monitoring/histogram.h"
#include "services/monitoring/ks_test.h"

namespace mlops::monitoring {
namespace {

// Cumulative counts after each bin of [underflow, counts..., overflow].
std::vector<int64_t> Cumulative(const stats::Histogram& h) {
  std::vector<int64_t> out;
  out.reserve(h.counts.size() + 2);
  int64_t c = h.underflow;
  out.push_back(c);
  for (int64_t x : h.counts) out.push_back(c += x);
  out.push_back(c + h.overflow);
  return out;
}

// Integral over a bin of width w of |d|, d linear from d0 to d1.
double LinearAbsIntegral(double w, double d0, double d1) {
  if (d0 * d1 >= 0) return w * (std::fabs(d0) + std::fabs(d1)) / 2;
  return w * (d0 * d0 + d1 * d1) / (2 * (std::fabs(d0) + std::fabs(d1)));
}

}  // namespace

absl::StatusOr<HistogramKsResult> KsFromHistograms(const stats::Histogram& reference,
                                                   const stats::Histogram& current) {
  MLOPS_RETURN_IF_ERROR(ValidateComparableHistograms(reference, current));
  const std::vector<int64_t> cr = Cumulative(reference);
  const std::vector<int64_t> cc = Cumulative(current);
  const int64_t n1 = cr.back();
  const int64_t n2 = cc.back();
  const double dn1 = static_cast<double>(n1);
  const double dn2 = static_cast<double>(n2);
  HistogramKsResult out;
  // Cut points: after every bin but the overflow (where both CDFs are 1).
  for (size_t b = 0; b + 1 < cr.size(); ++b) {
    out.statistic = std::max(out.statistic, std::fabs(cr[b] / dn1 - cc[b] / dn2));
  }
  out.statistic_upper_bound = out.statistic;
  for (size_t b = 0; b < cr.size(); ++b) {
    const int64_t r_left = b == 0 ? 0 : cr[b - 1];
    const int64_t c_left = b == 0 ? 0 : cc[b - 1];
    const double spread = std::max(cr[b] / dn1 - c_left / dn2, cc[b] / dn2 - r_left / dn1);
    out.statistic_upper_bound = std::max(out.statistic_upper_bound, spread);
    out.max_bin_mass =
        std::max({out.max_bin_mass, (cr[b] - r_left) / dn1, (cc[b] - c_left) / dn2});
  }
  out.statistic_upper_bound = std::min(out.statistic_upper_bound, 1.0);
  out.p_value = KsTwoSamplePValue(n1, n2, out.statistic);
  out.p_value_lower_bound = KsTwoSamplePValue(n1, n2, out.statistic_upper_bound);
  return out;
}

double HistogramWassersteinResult::error_bound() const {
  return std::max(distance - lower_bound, upper_bound - distance);
}

absl::StatusOr<HistogramWassersteinResult> WassersteinFromHistograms(
    const RangedHistogram& reference, const RangedHistogram& current) {
  if (reference.histogram == nullptr || current.histogram == nullptr) {
    return absl::InvalidArgumentError("wasserstein: missing histogram");
  }
  const stats::Histogram& hr = *reference.histogram;
  const stats::Histogram& hc = *current.histogram;
  MLOPS_RETURN_IF_ERROR(ValidateComparableHistograms(hr, hc));
  const std::vector<double>& edges = hr.edges;
  // The outer bins' far ends: the smallest min / largest max of the sides
  // that have values there.
  double lo = edges.front();
  double hi = edges.back();
  const std::pair<const RangedHistogram*, const char*> sides[] = {{&reference, "reference"},
                                                                  {&current, "current"}};
  for (const auto& [side, name] : sides) {
    if (side->histogram->underflow > 0) {
      if (!std::isfinite(side->min) || side->min >= edges.front()) {
        return absl::InvalidArgumentError(std::string(name) +
                                          " histogram has underflow but no min below the edges");
      }
      lo = std::min(lo, side->min);
    }
    if (side->histogram->overflow > 0) {
      if (!std::isfinite(side->max) || side->max <= edges.back()) {
        return absl::InvalidArgumentError(std::string(name) +
                                          " histogram has overflow but no max above the edges");
      }
      hi = std::max(hi, side->max);
    }
  }
  const std::vector<int64_t> cr = Cumulative(hr);
  const std::vector<int64_t> cc = Cumulative(hc);
  const double n1 = static_cast<double>(cr.back());
  const double n2 = static_cast<double>(cc.back());
  HistogramWassersteinResult out;
  for (size_t b = 0; b < cr.size(); ++b) {
    const double left = b == 0 ? lo : edges[b - 1];
    const double right = b + 1 == cr.size() ? hi : edges[b];
    const double w = right - left;
    if (w <= 0) continue;
    const double f_l = b == 0 ? 0.0 : cr[b - 1] / n1;
    const double g_l = b == 0 ? 0.0 : cc[b - 1] / n2;
    const double f_h = cr[b] / n1;
    const double g_h = cc[b] / n2;
    out.lower_bound += w * std::max({0.0, f_l - g_h, g_l - f_h});
    out.upper_bound += w * std::max({0.0, f_h - g_l, g_h - f_l});
    out.distance += LinearAbsIntegral(w, f_l - g_l, f_h - g_h);
  }
  // Rounding must not push the estimate out of its interval.
  out.distance = std::clamp(out.distance, out.lower_bound, out.upper_bound);
  return out;
}

absl::StatusOr<double> PsiFromHistograms(const stats::Histogram& reference,
                                         const stats::Histogram& current) {
  MLOPS_RETURN_IF_ERROR(ValidateComparableHistograms(reference, current));
  const AlignedCounts bins = AlignHistogramBins(reference, current);
  return PopulationStabilityIndex(bins.reference, bins.current);
}

absl::StatusOr<double> JensenShannonFromHistograms(const stats::Histogram& reference,
                                                   const stats::Histogram& current,
                                                   std::optional<double> base) {
  MLOPS_RETURN_IF_ERROR(ValidateComparableHistograms(reference, current));
  const AlignedCounts bins = AlignHistogramBins(reference, current);
  return JensenShannonDistance(bins.reference, bins.current, base);
}

absl::StatusOr<ChiSquareResult> ChiSquareFromHistograms(const stats::Histogram& reference,
                                                        const stats::Histogram& current) {
  MLOPS_RETURN_IF_ERROR(ValidateComparableHistograms(reference, current));
  const AlignedCounts bins = AlignHistogramBins(reference, current);
  return ChiSquareOfCounts(bins.reference, bins.current);
}

}  // namespace mlops::monitoring
