#include "services/ingestion/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

TEST(Utf8Test, AcceptsValidText) {
  for (const char* s : {"", "ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                        "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
  }
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

TEST(Utf8Test, FindsTheFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8("ab\xff"), 2u);                 // never valid
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);                   // lone continuation
  EXPECT_EQ(FindInvalidUtf8("x\xc3"), 1u);                  // truncated
  EXPECT_EQ(FindInvalidUtf8("\xc0\xaf"), 0u);               // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xe0\x80\xaf"), 0u);           // overlong
  EXPECT_EQ(FindInvalidUtf8("ok\xed\xa0\x80"), 2u);         // surrogate U+D800
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);       // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("\xe2\x82x"), 0u);              // bad continuation
}

}  // namespace
}  // namespace mlops::ingestion
