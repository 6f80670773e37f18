#include "common/stats/profile_distance.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/stats/distance.h"

namespace mlops::stats {
namespace {

absl::Status BinsOfHistograms(const ColumnProfile& e, const ColumnProfile& a,
                              std::vector<int64_t>* pe, std::vector<int64_t>* pa) {
  if (e.histogram.edges.empty() || e.histogram.Total() == 0) {
    return absl::FailedPreconditionError("the baseline has no histogram of finite values");
  }
  if (a.histogram.Total() == 0) {
    return absl::FailedPreconditionError("no finite values to compare");
  }
  if (a.histogram.edges != e.histogram.edges) {
    return absl::InvalidArgumentError(
        "histogram edges differ from the baseline's (edges are fixed per dataset)");
  }
  *pe = BinsWithOutliers(e.histogram);
  *pa = BinsWithOutliers(a.histogram);
  return absl::OkStatus();
}

absl::Status BinsOfCategories(const ColumnProfile& e, const ColumnProfile& a,
                              std::vector<int64_t>* pe, std::vector<int64_t>* pa) {
  const int64_t actual_total = a.count - a.null_count;
  if (e.top_categories.empty()) {
    return absl::FailedPreconditionError("the baseline has no categories");
  }
  if (actual_total == 0) return absl::FailedPreconditionError("no values to compare");
  absl::flat_hash_map<std::string, int64_t> actual;
  for (const CategoryCount& c : a.top_categories) actual[c.value] = c.count;
  int64_t listed = 0;
  for (const CategoryCount& c : e.top_categories) {
    pe->push_back(c.count);
    const auto it = actual.find(c.value);
    pa->push_back(it == actual.end() ? 0 : it->second);
    listed += pa->back();
  }
  pe->push_back(e.other_category_count);
  pa->push_back(actual_total - listed);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> ProfileDistance(const ColumnProfile& expected, const ColumnProfile& actual,
                                       DistanceMetric metric) {
  if (expected.type != actual.type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot compare a ", std::string(DataTypeName(expected.type)), " profile with a ",
        std::string(DataTypeName(actual.type)), " profile"));
  }
  std::vector<int64_t> e, a;
  absl::Status s = expected.type == DataType::kString ? BinsOfCategories(expected, actual, &e, &a)
                                                      : BinsOfHistograms(expected, actual, &e, &a);
  if (!s.ok()) return s;
  return metric == DistanceMetric::kPsi ? PopulationStabilityIndex(e, a)
                                        : JensenShannonDistance(e, a);
}

}  // namespace mlops::stats
