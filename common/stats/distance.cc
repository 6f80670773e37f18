#include "common/stats/distance.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace mlops::stats {
namespace {

absl::StatusOr<std::vector<double>> Proportions(const std::vector<int64_t>& counts,
                                                const std::string& which) {
  double total = 0;
  for (int64_t c : counts) {
    if (c < 0) return absl::InvalidArgumentError(absl::StrCat(std::string(which), " has a negative count"));
    total += static_cast<double>(c);
  }
  if (total == 0) return absl::InvalidArgumentError(absl::StrCat(std::string(which), " has no observations"));
  std::vector<double> p(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) p[i] = static_cast<double>(counts[i]) / total;
  return p;
}

// Both count vectors as proportions; they must have the same non-zero size.
absl::Status ProportionsOf(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                           std::vector<double>* pa, std::vector<double>* pb) {
  if (a.size() != b.size() || a.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "distributions must have the same non-zero number of bins: ", a.size(), " vs ", b.size()));
  }
  absl::StatusOr<std::vector<double>> first = Proportions(a, "first distribution");
  if (!first.ok()) return first.status();
  absl::StatusOr<std::vector<double>> second = Proportions(b, "second distribution");
  if (!second.ok()) return second.status();
  *pa = *std::move(first);
  *pb = *std::move(second);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> PopulationStabilityIndex(const std::vector<int64_t>& expected,
                                                const std::vector<int64_t>& actual,
                                                double epsilon) {
  std::vector<double> e, a;
  if (absl::Status s = ProportionsOf(expected, actual, &e, &a); !s.ok()) return s;
  double psi = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    const double ei = std::max(e[i], epsilon);
    const double ai = std::max(a[i], epsilon);
    psi += (ai - ei) * std::log(ai / ei);
  }
  return psi;
}

absl::StatusOr<double> JensenShannonDistance(const std::vector<int64_t>& p,
                                             const std::vector<int64_t>& q) {
  std::vector<double> pp, qq;
  if (absl::Status s = ProportionsOf(p, q, &pp, &qq); !s.ok()) return s;
  double divergence = 0;
  for (size_t i = 0; i < pp.size(); ++i) {
    const double m = (pp[i] + qq[i]) / 2;
    if (pp[i] > 0) divergence += 0.5 * pp[i] * std::log2(pp[i] / m);
    if (qq[i] > 0) divergence += 0.5 * qq[i] * std::log2(qq[i] / m);
  }
  return std::sqrt(std::clamp(divergence, 0.0, 1.0));
}

}  // namespace mlops::stats
