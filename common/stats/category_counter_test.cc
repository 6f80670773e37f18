#include "common/stats/category_counter.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

using ::testing::ElementsAre;

TEST(CategoryCounterTest, CountsExactlyBelowCapacity) {
  CategoryCounter c(10);
  for (const char* v : {"a", "b", "a", "c", "a", "b"}) c.Add(v);
  EXPECT_TRUE(c.exact());
  EXPECT_EQ(c.total(), 6);
  EXPECT_THAT(c.Top(2), ElementsAre(CategoryCount{"a", 3}, CategoryCount{"b", 2}));
  EXPECT_THAT(c.Top(10), ElementsAre(CategoryCount{"a", 3}, CategoryCount{"b", 2},
                                     CategoryCount{"c", 1}));
}

TEST(CategoryCounterTest, BreaksTiesByValue) {
  CategoryCounter c;
  for (const char* v : {"z", "y", "x"}) c.Add(v, 2);
  EXPECT_THAT(c.Top(3), ElementsAre(CategoryCount{"x", 2}, CategoryCount{"y", 2},
                                    CategoryCount{"z", 2}));
}

TEST(CategoryCounterTest, KeepsHeavyHittersBeyondCapacity) {
  CategoryCounter c(4);
  for (int i = 0; i < 300; ++i) {
    c.Add("heavy");
    if (i % 2 == 0) c.Add("medium");
    c.Add("rare-" + std::to_string(i));
  }
  EXPECT_FALSE(c.exact());
  EXPECT_EQ(c.total(), 750);
  EXPECT_LE(c.max_error(), c.total() / 5);  // total / (capacity + 1)
  const std::vector<CategoryCount> top = c.Top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].value, "heavy");
  EXPECT_LE(top[0].count, 300);
  EXPECT_GE(top[0].count, 300 - c.max_error());
  EXPECT_EQ(top[1].value, "medium");
  EXPECT_GE(top[1].count, 150 - c.max_error());
}

TEST(CategoryCounterTest, MergeAddsCounts) {
  CategoryCounter a, b;
  a.Add("x", 3);
  a.Add("y");
  b.Add("y", 4);
  b.Add("z");
  a.Merge(b);
  EXPECT_EQ(a.total(), 9);
  EXPECT_TRUE(a.exact());
  EXPECT_THAT(a.Top(5), ElementsAre(CategoryCount{"y", 5}, CategoryCount{"x", 3},
                                    CategoryCount{"z", 1}));
}

TEST(CategoryCounterTest, MergeBeyondCapacityKeepsTheBound) {
  CategoryCounter a(3), b(3);
  for (int i = 0; i < 50; ++i) {
    a.Add("k");
    a.Add("a" + std::to_string(i));
    b.Add("k");
    b.Add("b" + std::to_string(i));
  }
  a.Merge(b);
  EXPECT_EQ(a.total(), 200);
  EXPECT_LE(a.max_error(), 200 / 4);
  ASSERT_FALSE(a.Top(1).empty());
  EXPECT_EQ(a.Top(1)[0].value, "k");
  EXPECT_GE(a.Top(1)[0].count, 100 - a.max_error());
}

}  // namespace
}  // namespace mlops::stats
