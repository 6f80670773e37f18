#include "common/stats/profile_distance.h"

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

ColumnProfile Numeric(std::vector<int64_t> counts, std::vector<double> edges = {0, 1, 2}) {
  ColumnProfile p;
  p.name = "x";
  p.type = DataType::kDouble;
  p.histogram.edges = std::move(edges);
  p.histogram.counts = std::move(counts);
  return p;
}

ColumnProfile Strings(std::vector<CategoryCount> top, int64_t other) {
  ColumnProfile p;
  p.name = "s";
  p.type = DataType::kString;
  p.top_categories = std::move(top);
  p.other_category_count = other;
  p.count = other;
  for (const CategoryCount& c : p.top_categories) p.count += c.count;
  return p;
}

TEST(ProfileDistanceTest, ComparesHistogramsBinByBin) {
  // Bins [underflow, 5, 5, overflow] vs [0, 9, 1, 0]: empty outer bins add nothing.
  const ColumnProfile parent = Numeric({5, 5});
  const ColumnProfile batch = Numeric({9, 1});
  EXPECT_NEAR(*ProfileDistance(parent, batch, DistanceMetric::kPsi), 0.8788898309344878, 1e-12);
  EXPECT_NEAR(*ProfileDistance(parent, batch, DistanceMetric::kJensenShannon),
              0.3831358798599423, 1e-12);
  EXPECT_NEAR(*ProfileDistance(parent, parent, DistanceMetric::kPsi), 0.0, 1e-15);
}

TEST(ProfileDistanceTest, ComparesCategoriesOverTheBaselinesList) {
  // Baseline a:6 b:3 other:1; batch a:2 c:5 d:3 -> [6, 3, 1] vs [2, 0, 8].
  const ColumnProfile parent = Strings({{"a", 6}, {"b", 3}}, 1);
  const ColumnProfile batch = Strings({{"c", 5}, {"a", 2}}, 3);
  EXPECT_NEAR(*ProfileDistance(parent, batch, DistanceMetric::kPsi), 4.2961636281814375, 1e-12);
}

TEST(ProfileDistanceTest, ReportsWhyItCannotCompare) {
  EXPECT_EQ(ProfileDistance(Numeric({0, 0}), Numeric({1, 1}), DistanceMetric::kPsi).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ProfileDistance(Numeric({1, 1}), Numeric({0, 0}), DistanceMetric::kPsi).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ProfileDistance(Numeric({1, 1}), Numeric({1, 1}, {0, 1, 3}), DistanceMetric::kPsi)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ProfileDistance(Numeric({1, 1}), Strings({{"a", 1}}, 0), DistanceMetric::kPsi)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ProfileDistance(Strings({}, 4), Strings({{"a", 1}}, 0), DistanceMetric::kPsi)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mlops::stats
