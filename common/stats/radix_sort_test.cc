#include "common/stats/radix_sort.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

void ExpectSortsLikeStdSort(std::vector<double> values) {
  std::vector<double> expected = values;
  std::sort(expected.begin(), expected.end());
  DoubleSorter sorter;
  sorter.Sort(&values);
  ASSERT_EQ(values.size(), expected.size());
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], expected[i]) << i;
}

TEST(DoubleSorterTest, SortsLikeStdSortAcrossSignsAndMagnitudes) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> wide(-1e300, 1e300);
  std::uniform_real_distribution<double> narrow(0, 142857);
  for (size_t n : {0, 1, 63, 64, 1024, 5000}) {
    std::vector<double> a, b, c;
    for (size_t i = 0; i < n; ++i) {
      a.push_back(wide(rng));
      b.push_back(std::floor(narrow(rng)));  // integers, repeats
      c.push_back(static_cast<double>(rng() % 2));
    }
    ExpectSortsLikeStdSort(a);
    ExpectSortsLikeStdSort(b);
    ExpectSortsLikeStdSort(c);
  }
}

TEST(DoubleSorterTest, HandlesExtremesZerosAndDenormals) {
  const double inf = std::numeric_limits<double>::infinity();
  const double tiny = std::numeric_limits<double>::denorm_min();
  std::vector<double> v;
  for (int i = 0; i < 20; ++i) {
    for (double x : {0.0, -0.0, tiny, -tiny, 1.0, -1.0, std::numeric_limits<double>::max(),
                     std::numeric_limits<double>::lowest(), inf, -inf}) {
      v.push_back(x * (i + 1));
    }
  }
  ExpectSortsLikeStdSort(v);
  DoubleSorter sorter;
  std::vector<double> zeros(100, 0.0);
  zeros[50] = -0.0;
  sorter.Sort(&zeros);
  EXPECT_TRUE(std::signbit(zeros[0]));  // -0.0 first, the rest +0.0
  EXPECT_FALSE(std::signbit(zeros[1]));
}

}  // namespace
}  // namespace mlops::stats
