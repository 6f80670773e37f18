#include "common/stats/column_profile.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr double kInf = std::numeric_limits<double>::infinity();

ColumnProfileBuilder NewBuilder(DataType type, ProfileOptions options = {}) {
  absl::StatusOr<ColumnProfileBuilder> b = ColumnProfileBuilder::Create("c", type, options);
  EXPECT_TRUE(b.ok()) << b.status();
  return *std::move(b);
}

std::vector<double> QuantileValues(const ColumnProfile& p) {
  std::vector<double> v;
  for (const QuantileValue& q : p.quantiles) v.push_back(q.value);
  return v;
}

TEST(ColumnProfileTest, Int64MatchesHandComputedValues) {
  ColumnProfileBuilder b = NewBuilder(DataType::kInt64);
  for (int64_t v : {3, 1, 4, 2}) b.AddInt64(v);
  b.AddNull();
  const ColumnProfile p = b.Finish();
  EXPECT_EQ(p.name, "c");
  EXPECT_EQ(p.type, DataType::kInt64);
  EXPECT_EQ(p.count, 5);
  EXPECT_EQ(p.null_count, 1);
  EXPECT_EQ(p.non_finite_count, 0);
  EXPECT_EQ(p.min, 1);
  EXPECT_EQ(p.max, 4);
  EXPECT_DOUBLE_EQ(p.mean, 2.5);
  EXPECT_DOUBLE_EQ(p.m2, 5.0);  // 2.25 + 0.25 + 0.25 + 2.25
  EXPECT_DOUBLE_EQ(p.stddev, std::sqrt(1.25));
  // Inverted CDF over {1,2,3,4}: rank ceil(q * 4).
  ASSERT_EQ(p.quantiles.size(), 7u);
  EXPECT_EQ(p.quantiles[0].q, 0.01);
  EXPECT_THAT(QuantileValues(p), ElementsAre(1, 1, 1, 2, 3, 4, 4));
  // 20 bins of width 0.15 from 1 to 4: 1 -> bin 0, 2 -> bin 6, 3 -> bin 13, 4 -> bin 19.
  ASSERT_EQ(p.histogram.edges.size(), 21u);
  EXPECT_EQ(p.histogram.edges.front(), 1);
  EXPECT_EQ(p.histogram.edges.back(), 4);
  std::vector<int64_t> expected(20, 0);
  expected[0] = expected[6] = expected[13] = expected[19] = 1;
  EXPECT_EQ(p.histogram.counts, expected);
  EXPECT_NEAR(p.distinct_estimate, 4, 0.5);
  EXPECT_THAT(p.top_categories, IsEmpty());
  EXPECT_FALSE(p.quantile_sketch.empty());
  EXPECT_FALSE(p.distinct_sketch.empty());
}

TEST(ColumnProfileTest, DoubleCountsNonFiniteApart) {
  ColumnProfileBuilder b = NewBuilder(DataType::kDouble);
  for (double v : {1.5, std::nan(""), kInf, -kInf, 2.5, -0.0, 0.0}) b.AddDouble(v);
  const ColumnProfile p = b.Finish();
  EXPECT_EQ(p.count, 7);
  EXPECT_EQ(p.non_finite_count, 3);
  EXPECT_EQ(p.numeric_count(), 4);
  EXPECT_EQ(p.min, 0);
  EXPECT_EQ(p.max, 2.5);
  EXPECT_DOUBLE_EQ(p.mean, 1.0);
  EXPECT_DOUBLE_EQ(p.m2, 4.5);  // 0.5^2 + 1.5^2 + 1 + 1
  EXPECT_EQ(p.histogram.Total(), 4);
  // -0.0 and 0.0 are one value: NaN, inf, -inf, 1.5, 2.5, 0.
  EXPECT_NEAR(p.distinct_estimate, 6, 0.5);
}

TEST(ColumnProfileTest, StringsHaveCategoriesAndNoNumericStats) {
  ProfileOptions options;
  options.max_top_categories = 2;
  ColumnProfileBuilder b = NewBuilder(DataType::kString, options);
  for (const char* v : {"a", "b", "a", "c", "a"}) b.AddString(v);
  b.AddNull();
  const ColumnProfile p = b.Finish();
  EXPECT_EQ(p.count, 6);
  EXPECT_EQ(p.null_count, 1);
  EXPECT_THAT(p.top_categories, ElementsAre(CategoryCount{"a", 3}, CategoryCount{"b", 1}));
  EXPECT_EQ(p.other_category_count, 1);
  EXPECT_EQ(p.mean, 0);
  EXPECT_THAT(p.quantiles, IsEmpty());
  EXPECT_TRUE(p.histogram.edges.empty());
  EXPECT_TRUE(p.quantile_sketch.empty());
  EXPECT_NEAR(p.distinct_estimate, 3, 0.5);
}

TEST(ColumnProfileTest, BoolsAreNumericAndCategorical) {
  ColumnProfileBuilder b = NewBuilder(DataType::kBool);
  for (bool v : {true, false, true, true}) b.AddBool(v);
  const ColumnProfile p = b.Finish();
  EXPECT_DOUBLE_EQ(p.mean, 0.75);
  EXPECT_DOUBLE_EQ(p.m2, 0.75);  // 4 * 0.75 * 0.25
  EXPECT_DOUBLE_EQ(p.stddev, std::sqrt(0.1875));
  EXPECT_THAT(p.top_categories, ElementsAre(CategoryCount{"true", 3}, CategoryCount{"false", 1}));
  EXPECT_EQ(p.other_category_count, 0);
  EXPECT_NEAR(p.distinct_estimate, 2, 0.5);
}

TEST(ColumnProfileTest, TimestampsProfileAsMicros) {
  ColumnProfileBuilder b = NewBuilder(DataType::kTimestamp);
  b.AddTimestamp(1700000000000000);
  b.AddTimestamp(1700000000000002);
  const ColumnProfile p = b.Finish();
  EXPECT_EQ(p.min, 1700000000000000.0);
  EXPECT_EQ(p.max, 1700000000000002.0);
  EXPECT_EQ(p.mean, 1700000000000001.0);
  EXPECT_EQ(p.histogram.Total(), 2);
}

TEST(ColumnProfileTest, FixedEdgesCountExactly) {
  ProfileOptions options;
  options.histogram_edges = {0, 10, 20};
  ColumnProfileBuilder b = NewBuilder(DataType::kDouble, options);
  for (double v : {5.0, 15.0, 25.0, -1.0, 20.0}) b.AddDouble(v);
  const ColumnProfile p = b.Finish();
  EXPECT_THAT(p.histogram.edges, ElementsAre(0, 10, 20));
  EXPECT_THAT(p.histogram.counts, ElementsAre(1, 2));
  EXPECT_EQ(p.histogram.underflow, 1);
  EXPECT_EQ(p.histogram.overflow, 1);
}

TEST(ColumnProfileTest, FirstHistogramFallsBackToTheSketchBeyondTheBuffer) {
  ProfileOptions options;
  options.exact_histogram_buffer = 10;
  ColumnProfileBuilder small = NewBuilder(DataType::kInt64, options);
  ColumnProfileBuilder exact = NewBuilder(DataType::kInt64);
  for (int64_t i = 0; i < 500; ++i) {
    small.AddInt64(i * 7 % 500);
    exact.AddInt64(i * 7 % 500);
  }
  // 500 values < k: the sketch is still exact, so both agree.
  EXPECT_EQ(small.Finish().histogram, exact.Finish().histogram);
  for (int64_t i = 0; i < 100000; ++i) small.AddInt64(i % 1000);
  const Histogram h = small.Finish().histogram;
  EXPECT_EQ(h.Total(), 100500);
  EXPECT_EQ(h.underflow + h.overflow, 0);
}

TEST(ColumnProfileTest, RejectsUnspecifiedTypeAndBadEdges) {
  EXPECT_EQ(ColumnProfileBuilder::Create("x", DataType::kUnspecified).status().code(),
            absl::StatusCode::kInvalidArgument);
  ProfileOptions options;
  options.histogram_edges = {1, 0};
  EXPECT_EQ(ColumnProfileBuilder::Create("x", DataType::kDouble, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Feeds `values` (NaN = null) into a builder.
ColumnProfile ProfileOf(DataType type, const std::vector<double>& values, ProfileOptions options) {
  ColumnProfileBuilder b = NewBuilder(type, options);
  for (double v : values) {
    if (std::isnan(v)) {
      b.AddNull();
    } else if (type == DataType::kString) {
      b.AddString("s" + std::to_string(static_cast<int>(v) % 13));
    } else {
      b.AddDouble(v);
    }
  }
  return b.Finish();
}

void ExpectMergeEqualsConcatenation(DataType type, int n) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(50, 10);
  std::vector<double> first, second;
  for (int i = 0; i < n; ++i) {
    const double v = i % 17 == 0 ? std::nan("") : std::round(normal(rng));
    (i < n / 3 ? first : second).push_back(v);
  }
  // Edges chosen from the first version, then fixed for the rest.
  const ColumnProfile parent = ProfileOf(type, first, {});
  ProfileOptions fixed;
  fixed.histogram_edges = parent.histogram.edges;
  const ColumnProfile batch = ProfileOf(type, second, fixed);
  std::vector<double> all = first;
  all.insert(all.end(), second.begin(), second.end());
  const ColumnProfile whole = ProfileOf(type, all, fixed);

  absl::StatusOr<ColumnProfile> merged = Merge(parent, batch);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->count, whole.count);
  EXPECT_EQ(merged->null_count, whole.null_count);
  EXPECT_EQ(merged->min, whole.min);
  EXPECT_EQ(merged->max, whole.max);
  EXPECT_NEAR(merged->mean, whole.mean, 1e-9);
  EXPECT_NEAR(merged->m2, whole.m2, 1e-6 * std::max(1.0, whole.m2));
  EXPECT_NEAR(merged->stddev, whole.stddev, 1e-9);
  EXPECT_EQ(merged->histogram, whole.histogram);
  EXPECT_EQ(merged->top_categories, whole.top_categories);
  EXPECT_EQ(merged->other_category_count, whole.other_category_count);
  EXPECT_EQ(merged->distinct_sketch, whole.distinct_sketch);
  EXPECT_EQ(merged->distinct_estimate, whole.distinct_estimate);
  if (n < QuantileSketch::kDefaultK) {
    EXPECT_EQ(merged->quantiles, whole.quantiles);
  } else {
    const auto sketch = QuantileSketch::Deserialize(merged->quantile_sketch);
    ASSERT_TRUE(sketch.ok());
    for (size_t i = 0; i < whole.quantiles.size(); ++i) {
      EXPECT_NEAR(merged->quantiles[i].value, whole.quantiles[i].value, 1.0);
    }
  }
}

TEST(ColumnProfileTest, MergeEqualsProfileOfConcatenation) {
  ExpectMergeEqualsConcatenation(DataType::kDouble, 600);
  ExpectMergeEqualsConcatenation(DataType::kDouble, 60000);
  ExpectMergeEqualsConcatenation(DataType::kString, 600);
}

TEST(ColumnProfileTest, MergeWithEmptyProfileIsIdentity) {
  const ColumnProfile a = ProfileOf(DataType::kDouble, {1, 2, 3}, {});
  const ColumnProfile empty = NewBuilder(DataType::kDouble).Finish();
  absl::StatusOr<ColumnProfile> merged = Merge(empty, a);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->histogram, a.histogram);
  EXPECT_EQ(merged->quantiles, a.quantiles);
  EXPECT_EQ(merged->mean, a.mean);
}

TEST(ColumnProfileTest, MergeOfTruncatedCategoryListsKeepsTotals) {
  ColumnProfile a, b;
  a.name = b.name = "c";
  a.type = b.type = DataType::kString;
  a.count = 8;
  a.top_categories = {{"x", 5}};
  a.other_category_count = 3;
  b.count = 4;
  b.top_categories = {{"y", 4}};
  absl::StatusOr<ColumnProfile> merged = Merge(a, b);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_THAT(merged->top_categories, ElementsAre(CategoryCount{"x", 5}, CategoryCount{"y", 4}));
  EXPECT_EQ(merged->other_category_count, 3);
}

TEST(ColumnProfileTest, MergeRejectsMismatches) {
  ColumnProfile a = ProfileOf(DataType::kDouble, {1, 2}, {});
  ColumnProfile b = ProfileOf(DataType::kDouble, {5, 9}, {});  // other edges
  EXPECT_EQ(Merge(a, b).status().code(), absl::StatusCode::kFailedPrecondition);
  ColumnProfile renamed = a;
  renamed.name = "d";
  EXPECT_EQ(Merge(a, renamed).status().code(), absl::StatusCode::kInvalidArgument);
  ColumnProfile corrupt = a;
  corrupt.quantile_sketch = "\x07";
  EXPECT_EQ(Merge(a, corrupt).status().code(), absl::StatusCode::kInvalidArgument);
  corrupt = a;
  corrupt.distinct_sketch = "junk";
  EXPECT_EQ(Merge(a, corrupt).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DatasetProfileTest, MergesColumnByColumn) {
  DatasetProfile a, b;
  a.row_count = 3;
  a.columns = {ProfileOf(DataType::kDouble, {1, 2, 3}, {})};
  ProfileOptions fixed;
  fixed.histogram_edges = a.columns[0].histogram.edges;
  b.row_count = 1;
  b.columns = {ProfileOf(DataType::kDouble, {4}, fixed)};
  absl::StatusOr<DatasetProfile> merged = Merge(a, b);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->row_count, 4);
  ASSERT_NE(merged->Find("c"), nullptr);
  EXPECT_EQ(merged->Find("c")->count, 4);
  EXPECT_EQ(merged->Find("c")->histogram.overflow, 1);
  EXPECT_EQ(merged->Find("nope"), nullptr);
  absl::StatusOr<DatasetProfile> identity = Merge(DatasetProfile{}, a);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->row_count, 3);
  DatasetProfile two = a;
  two.columns.push_back(a.columns[0]);
  EXPECT_EQ(Merge(a, two).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops::stats
