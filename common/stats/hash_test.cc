#include "common/stats/hash.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mlops::stats {
namespace {

// Reference values from libxxhash 0.8.1 (XXH64).
TEST(XxHash64Test, MatchesReferenceImplementation) {
  EXPECT_EQ(XxHash64(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(XxHash64("a"), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(XxHash64("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(XxHash64("The quick brown fox jumps over the lazy dog"), 0x0b242d361fda71bcULL);
  EXPECT_EQ(XxHash64("0123456789abcdef0123456789abcdef0123", 7), 0x64baaaa088a3a7e2ULL);
}

TEST(XxHash64Test, FixedSizeFormsEqualTheGenericHash) {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values = {0, 1, ~uint64_t{0}, uint64_t{1} << 63};
  for (int i = 0; i < 10000; ++i) values.push_back(rng());
  for (uint64_t v : values) {
    char bytes[8];
    for (int b = 0; b < 8; ++b) bytes[b] = static_cast<char>((v >> (8 * b)) & 0xff);
    ASSERT_EQ(XxHash64U64(v), XxHash64(std::string_view(bytes, 8))) << v;
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    ASSERT_EQ(XxHash64Byte(static_cast<uint8_t>(b)), XxHash64(std::string_view(&c, 1))) << b;
  }
}

}  // namespace
}  // namespace mlops::stats
