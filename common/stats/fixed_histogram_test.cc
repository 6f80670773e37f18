#include "common/stats/fixed_histogram.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

using ::testing::ElementsAre;

TEST(ChooseHistogramEdgesTest, EqualWidthBinsBetweenMinAndMax) {
  EXPECT_THAT(ChooseHistogramEdges(0, 10, 5), ElementsAre(0, 2, 4, 6, 8, 10));
  const std::vector<double> edges = ChooseHistogramEdges(-1, 3);
  ASSERT_EQ(edges.size(), 21u);
  EXPECT_EQ(edges.front(), -1);
  EXPECT_EQ(edges.back(), 3);
  EXPECT_DOUBLE_EQ(edges[1], -0.8);
}

TEST(ChooseHistogramEdgesTest, WidensDegenerateRanges) {
  // Centre 3, half-width max(0.15, 0.5) = 0.5.
  EXPECT_THAT(ChooseHistogramEdges(3, 3, 4), ElementsAre(2.5, 2.75, 3.0, 3.25, 3.5));
  // Centre 100, half-width max(5, 0.5) = 5.
  EXPECT_THAT(ChooseHistogramEdges(100, 100, 2), ElementsAre(95, 100, 105));
}

TEST(ChooseHistogramEdgesTest, EdgesStrictlyIncreaseAtAnyMagnitude) {
  for (const auto& [lo, hi] : std::vector<std::pair<double, double>>{
           {1e15, 1e15 + 1}, {-1e308, 1e308}, {1.7e15, 1.7e15}, {0, 1e-300}}) {
    const std::vector<double> edges = ChooseHistogramEdges(lo, hi);
    ASSERT_EQ(edges.size(), 21u) << lo << " " << hi;
    EXPECT_TRUE(ValidateHistogramEdges(edges).ok()) << lo << " " << hi;
    EXPECT_LE(edges.front(), lo);
    EXPECT_GE(edges.back(), hi);
  }
}

TEST(ChooseHistogramEdgesTest, NoEdgesWithoutFiniteRange) {
  EXPECT_TRUE(ChooseHistogramEdges(std::nan(""), 1).empty());
  EXPECT_TRUE(ChooseHistogramEdges(0, std::numeric_limits<double>::infinity()).empty());
  EXPECT_TRUE(ChooseHistogramEdges(2, 1).empty());
  EXPECT_TRUE(ChooseHistogramEdges(0, 1, 0).empty());
}

TEST(FixedHistogramTest, CountsHalfOpenBinsWithClosedLastBin) {
  absl::StatusOr<FixedHistogram> h = FixedHistogram::Create({0, 1, 2});
  ASSERT_TRUE(h.ok());
  for (double x : {-1.0, 0.0, 0.5, 1.0, 2.0, 2.0001}) h->Add(x);
  h->Add(1.5, 3);
  EXPECT_THAT(h->data().counts, ElementsAre(2, 5));
  EXPECT_EQ(h->data().underflow, 1);
  EXPECT_EQ(h->data().overflow, 1);
  EXPECT_EQ(h->data().Total(), 9);
  EXPECT_THAT(BinsWithOutliers(h->data()), ElementsAre(1, 2, 5, 1));
}

TEST(FixedHistogramTest, MergesOnlyEqualEdges) {
  absl::StatusOr<FixedHistogram> a = FixedHistogram::Create({0, 1, 2});
  absl::StatusOr<FixedHistogram> b = FixedHistogram::Create({0, 1, 2});
  absl::StatusOr<FixedHistogram> c = FixedHistogram::Create({0, 1, 3});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  a->Add(0.5);
  b->Add(1.5);
  b->Add(7);
  ASSERT_TRUE(a->Merge(*b).ok());
  EXPECT_THAT(a->data().counts, ElementsAre(1, 1));
  EXPECT_EQ(a->data().overflow, 1);
  EXPECT_EQ(a->Merge(*c).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FixedHistogramTest, EmptyHistogramIsIdentityOfMerge) {
  absl::StatusOr<FixedHistogram> empty = FixedHistogram::FromData({});
  absl::StatusOr<FixedHistogram> a = FixedHistogram::Create({0, 1});
  ASSERT_TRUE(empty.ok() && a.ok());
  a->Add(0.5);
  empty->Add(3);  // ignored: no edges
  ASSERT_TRUE(empty->Merge(*a).ok());
  EXPECT_EQ(empty->data(), a->data());
}

TEST(FixedHistogramTest, RejectsInvalidData) {
  EXPECT_EQ(FixedHistogram::Create({1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedHistogram::Create({0, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedHistogram::Create({0, std::nan("")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedHistogram::FromData({{0, 1, 2}, {1}, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedHistogram::FromData({{0, 1}, {-1}, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedHistogram::FromData({{}, {}, 1, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops::stats
