// The builder's fast per-value paths (one fixed-size hash per value, reused by
// the distinct sketch and the category counter; bools hashed once each) feed
// the sketches exactly what hashing each value's canonical bytes does.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/stats/byte_io.h"
#include "common/stats/column_profile.h"
#include "common/stats/hash.h"
#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

std::string_view LittleEndian(uint64_t v, char (&buf)[8]) {
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return std::string_view(buf, 8);
}

TEST(ProfileSketchInputsTest, DistinctSketchEqualsTheCanonicalBytesReference) {
  std::mt19937_64 rng(11);
  auto ints = ColumnProfileBuilder::Create("i", DataType::kInt64);
  auto doubles = ColumnProfileBuilder::Create("d", DataType::kDouble);
  auto strings = ColumnProfileBuilder::Create("s", DataType::kString);
  auto bools = ColumnProfileBuilder::Create("b", DataType::kBool);
  ASSERT_TRUE(ints.ok() && doubles.ok() && strings.ok() && bools.ok());
  HyperLogLog ref_i, ref_d, ref_s, ref_b;
  char buf[8];
  for (int n = 0; n < 50000; ++n) {
    const int64_t i = static_cast<int64_t>(rng() % 20000) - 10000;
    ints->AddInt64(i);
    ref_i.AddBytes(LittleEndian(static_cast<uint64_t>(i), buf));
    const double d = n % 1000 == 0 ? std::nan("") : static_cast<double>(rng() % 5000) / 7 - 300;
    doubles->AddDouble(d);
    ref_d.AddBytes(LittleEndian(CanonicalDoubleBits(d), buf));
    const std::string s = "v" + std::to_string(rng() % 3000);
    strings->AddString(s);
    ref_s.AddBytes(s);
    const bool b = (rng() & 3) == 0;
    bools->AddBool(b);
    const char byte = b ? 1 : 0;
    ref_b.AddBytes(std::string_view(&byte, 1));
  }
  EXPECT_EQ(ints->Finish().distinct_sketch, ref_i.Serialize());
  EXPECT_EQ(doubles->Finish().distinct_sketch, ref_d.Serialize());
  EXPECT_EQ(strings->Finish().distinct_sketch, ref_s.Serialize());
  EXPECT_EQ(bools->Finish().distinct_sketch, ref_b.Serialize());
  // Categories are counted exactly while they fit the counter.
  const ColumnProfile s = strings->Finish();
  int64_t listed = 0;
  for (const CategoryCount& c : s.top_categories) listed += c.count;
  EXPECT_EQ(listed + s.other_category_count, 50000);
}

TEST(ProfileSketchInputsTest, HashedAndPlainCategoryAddsAgree) {
  CategoryCounter plain(8), hashed(8);
  std::mt19937_64 rng(5);
  for (int n = 0; n < 20000; ++n) {
    const std::string v = "c" + std::to_string(rng() % (n < 10000 ? 6 : 40));
    plain.Add(v);
    hashed.AddHashed(v, XxHash64(v));
  }
  EXPECT_EQ(plain.total(), hashed.total());
  EXPECT_EQ(plain.max_error(), hashed.max_error());
  EXPECT_EQ(plain.Top(100), hashed.Top(100));
}

}  // namespace
}  // namespace mlops::stats
