#include "common/config/dsn.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DsnTest, AcceptsKeyValueAndUriForms) {
  EXPECT_TRUE(CheckDsn("host=127.0.0.1 port=5432 dbname=mlops user=svc password=x").ok());
  EXPECT_TRUE(CheckDsn("postgresql://svc:pw@db.example:5432/mlops?sslmode=require").ok());
  EXPECT_TRUE(CheckDsn("postgres:///mlops?host=/tmp/pg").ok());
}

TEST(DsnTest, RejectsUnknownKeywordWithLibpqReason) {
  const absl::Status s = CheckDsn("hots=db dbname=mlops");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("invalid connection option \"hots\""));
}

TEST(DsnTest, RejectsMissingEquals) {
  EXPECT_EQ(CheckDsn("host db").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckDsn("host='unterminated").code(), absl::StatusCode::kInvalidArgument);
}

TEST(DsnTest, RejectsBadUri) {
  EXPECT_EQ(CheckDsn("postgresql://db/x?nosuchparam=1").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DsnTest, RedactsKeyValuePassword) {
  EXPECT_EQ(RedactDsn("host=db password=secret user=x"), "host=db password=*** user=x");
  EXPECT_EQ(RedactDsn("host=db password = 'se cr\\'et' user=x"),
            "host=db password = *** user=x");
  EXPECT_EQ(RedactDsn("PASSWORD=secret"), "PASSWORD=***");
  EXPECT_EQ(RedactDsn("host=db user=x"), "host=db user=x");
}

TEST(DsnTest, RedactsUriPasswords) {
  EXPECT_EQ(RedactDsn("postgresql://svc:secret@db:5432/mlops"),
            "postgresql://svc:***@db:5432/mlops");
  EXPECT_EQ(RedactDsn("postgres://svc@db/mlops?sslmode=require&password=secret&x=1"),
            "postgres://svc@db/mlops?sslmode=require&password=***&x=1");
  EXPECT_EQ(RedactDsn("postgresql://svc:p%40ss@db"), "postgresql://svc:***@db");
  EXPECT_EQ(RedactDsn("postgresql://db/mlops"), "postgresql://db/mlops");
}

TEST(DsnTest, RedactsMalformedInputToo) {
  EXPECT_THAT(RedactDsn("host password=secret"), Not(HasSubstr("secret")));
  EXPECT_THAT(RedactDsn("password='unterminated secret"), Not(HasSubstr("secret")));
  EXPECT_EQ(RedactDsn(""), "");
}

}  // namespace
}  // namespace mlops
