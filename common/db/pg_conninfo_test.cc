#include "common/db/pg_conninfo.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(IsValidPgIdentifierTest, FollowsTheNameRule) {
  EXPECT_TRUE(IsValidPgIdentifier("registry"));
  EXPECT_TRUE(IsValidPgIdentifier("a1_b"));
  EXPECT_TRUE(IsValidPgIdentifier(std::string(63, 'a')));
  EXPECT_FALSE(IsValidPgIdentifier(std::string(64, 'a')));
  EXPECT_FALSE(IsValidPgIdentifier(""));
  EXPECT_FALSE(IsValidPgIdentifier("1abc"));
  EXPECT_FALSE(IsValidPgIdentifier("Registry"));
  EXPECT_FALSE(IsValidPgIdentifier("x\"; DROP SCHEMA public; --"));
}

TEST(RewriteConninfoTest, TurnsUriIntoKeyValueWithOverridesAndDefaults) {
  absl::StatusOr<std::string> c = RewriteConninfo(
      "postgresql://postgres@127.0.0.1:5433/mlops?connect_timeout=3", {{"dbname", "t_x"}},
      {{"connect_timeout", "5"}, {"application_name", "svc"}});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(*c,
            "application_name='svc' connect_timeout='3' dbname='t_x' host='127.0.0.1' "
            "port='5433' user='postgres'");
}

TEST(RewriteConninfoTest, QuotesValuesInKeyValueForm) {
  // password is  it's\x  (libpq reads \' and \\ as escapes inside quotes).
  absl::StatusOr<std::string> c =
      RewriteConninfo("host=localhost password='it\\'s\\\\x' dbname=a", {}, {});
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(*c, "dbname='a' host='localhost' password='it\\'s\\\\x'");
}

TEST(RewriteConninfoTest, RejectsMalformedDsnWithoutEchoingIt) {
  EXPECT_THAT(RewriteConninfo("postgresql://u:secretpw@[::1/db", {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("secretpw"))));
  EXPECT_THAT(RewriteConninfo("postgresql://u:secretpw@host/db?bogus=1", {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("bogus"), Not(HasSubstr("secretpw")))));
  EXPECT_THAT(RewriteConninfo("host", {}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RewriteConninfo("", {}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RewriteConninfo("host=x nosuchkey=1", {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RewriteConninfoTest, RejectsUnknownOverrideKeyword) {
  EXPECT_THAT(RewriteConninfo("host=x", {{"bogus", "1"}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bogus")));
}

}  // namespace
}  // namespace mlops
