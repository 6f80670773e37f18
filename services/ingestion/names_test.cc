#include "services/ingestion/names.h"

#include <string>

#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

std::string Message(std::string_view what, std::string_view name) {
  const absl::Status s = ValidateName(what, name);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
  return std::string(s.message());
}

TEST(NamesTest, AcceptsNamesFollowingTheRule) {
  for (const char* name : {"a", "amount", "card_id_2", "x_", "a0_b1"}) {
    EXPECT_TRUE(ValidateName("column name", name).ok()) << name;
  }
  EXPECT_TRUE(ValidateName("dataset name", std::string(63, 'a')).ok());
}

TEST(NamesTest, RejectsEmptyName) {
  EXPECT_EQ(Message("dataset name", ""), "dataset name: must not be empty");
}

TEST(NamesTest, RejectsBadFirstCharacter) {
  EXPECT_EQ(Message("column name", "Amount"),
            "column name \"Amount\": must start with a lowercase letter a-z, got 'A'");
  EXPECT_EQ(Message("column name", "_x"),
            "column name \"_x\": must start with a lowercase letter a-z, got '_'");
  EXPECT_EQ(Message("column name", "1x"),
            "column name \"1x\": must start with a lowercase letter a-z, got '1'");
}

TEST(NamesTest, RejectsTooLongNames) {
  EXPECT_EQ(Message("model name", std::string(64, 'a')),
            "model name \"" + std::string(64, 'a') + "\": 64 characters long; at most 63 allowed");
}

TEST(NamesTest, RejectsSqlLookingStrings) {
  EXPECT_EQ(Message("dataset name", "x;drop table y"),
            "dataset name \"x;drop table y\": invalid character ';' at position 1; only a-z, 0-9 "
            "and _ are allowed");
  for (const char* name : {"a--b", "a'b", "a\"b", "a b", "a/*b*/", "a.b", "ab)", "a-b"}) {
    EXPECT_FALSE(IsValidName(name)) << name;
  }
}

TEST(NamesTest, EscapesUnprintableBytesInMessages) {
  EXPECT_EQ(Message("column name", std::string("a\nb", 3)),
            "column name \"a\\nb\": invalid character '\\n' at position 1; only a-z, 0-9 and _ are "
            "allowed");
  EXPECT_EQ(Message("column name", "caf\xc3\xa9"),
            "column name \"caf\\xc3\\xa9\": invalid character '\\xc3' at position 3; only a-z, "
            "0-9 and _ are allowed");
}

}  // namespace
}  // namespace mlops::ingestion
