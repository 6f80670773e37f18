#include "common/stats/hash.h"

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

}  // namespace
}  // namespace mlops::stats
