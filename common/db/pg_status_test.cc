#include "common/db/pg_status.h"

#include <pqxx/except>

#include <stdexcept>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(PgSqlStateToCodeTest, MapsConstraintViolations) {
  EXPECT_EQ(PgSqlStateToCode("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PgSqlStateToCode("23P01"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PgSqlStateToCode("23502"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgSqlStateToCode("23514"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PgSqlStateToCode("23503"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PgSqlStateToCode("23001"), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PgSqlStateToCode("23000"), absl::StatusCode::kFailedPrecondition);
}

TEST(PgSqlStateToCodeTest, MapsRetryableAndTransientStates) {
  EXPECT_EQ(PgSqlStateToCode("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(PgSqlStateToCode("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(PgSqlStateToCode("55P03"), absl::StatusCode::kAborted);
  EXPECT_EQ(PgSqlStateToCode("57014"), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PgSqlStateToCode("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgSqlStateToCode("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgSqlStateToCode("53300"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PgSqlStateToCode("53100"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PgSqlStateToCode("22P02"), absl::StatusCode::kInvalidArgument);
}

TEST(PgSqlStateToCodeTest, UnknownOrMalformedStatesAreInternal) {
  EXPECT_EQ(PgSqlStateToCode("42601"), absl::StatusCode::kInternal);
  EXPECT_EQ(PgSqlStateToCode("42P01"), absl::StatusCode::kInternal);
  EXPECT_EQ(PgSqlStateToCode(""), absl::StatusCode::kInternal);
  EXPECT_EQ(PgSqlStateToCode("2350"), absl::StatusCode::kInternal);
}

TEST(PgExceptionToStatusTest, UniqueViolationIsAlreadyExistsWithOneLineMessage) {
  const pqxx::unique_violation e(
      "ERROR:  duplicate key value violates unique constraint \"items_pkey\"\n"
      "DETAIL:  Key (id)=(1) already exists.\n",
      "INSERT INTO items VALUES (1)", "23505");
  EXPECT_THAT(PgExceptionToStatus(e, "kInsertItem"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       "kInsertItem: ERROR: duplicate key value violates unique constraint "
                       "\"items_pkey\" DETAIL: Key (id)=(1) already exists. [SQLSTATE 23505]"));
}

TEST(PgExceptionToStatusTest, RollbacksWithoutSqlStateAreAbortedAndNamed) {
  EXPECT_THAT(PgExceptionToStatus(pqxx::serialization_failure("could not serialize")),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("[SQLSTATE 40001]")));
  EXPECT_THAT(PgExceptionToStatus(pqxx::deadlock_detected("deadlock detected")),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("[SQLSTATE 40P01]")));
  EXPECT_THAT(PgExceptionToStatus(pqxx::statement_completion_unknown("?")),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("40003")));
}

TEST(PgExceptionToStatusTest, ConnectionErrorsAreUnavailable) {
  const pqxx::broken_connection broken("server closed the connection unexpectedly");
  EXPECT_THAT(PgExceptionToStatus(broken),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("server closed")));
  EXPECT_TRUE(IsPgConnectionError(broken));
  const pqxx::too_many_connections many("sorry, too many clients already");
  EXPECT_THAT(PgExceptionToStatus(many), StatusIs(absl::StatusCode::kUnavailable));
  const pqxx::sql_error shutdown("terminating connection due to administrator command", "",
                                 "57P01");
  EXPECT_THAT(PgExceptionToStatus(shutdown), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsPgConnectionError(shutdown));
}

TEST(PgExceptionToStatusTest, InDoubtCommitIsUnavailableAndSaysSo) {
  const pqxx::in_doubt_error e("connection lost while committing");
  EXPECT_THAT(PgExceptionToStatus(e),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("may or may not")));
  EXPECT_TRUE(IsPgConnectionError(e));
}

TEST(PgExceptionToStatusTest, StatementTimeoutIsDeadlineExceeded) {
  const pqxx::sql_error e("ERROR:  canceling statement due to statement timeout\n",
                          "SELECT pg_sleep(10)", "57014");
  EXPECT_THAT(PgExceptionToStatus(e), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(IsPgConnectionError(e));
}

TEST(PgExceptionToStatusTest, ConstraintViolationsByKind) {
  EXPECT_THAT(PgExceptionToStatus(pqxx::check_violation("check", "", "23514")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PgExceptionToStatus(pqxx::not_null_violation("null", "", "23502")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PgExceptionToStatus(pqxx::foreign_key_violation("fk", "", "23503")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(PgExceptionToStatus(pqxx::data_exception("bad int", "", "22P02")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PgExceptionToStatusTest, EverythingElseIsInternalWithSqlState) {
  EXPECT_THAT(PgExceptionToStatus(pqxx::syntax_error("syntax error at or near", "SELEC", "42601")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("[SQLSTATE 42601]")));
  EXPECT_THAT(PgExceptionToStatus(pqxx::conversion_error("cannot convert")),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("cannot convert")));
  EXPECT_THAT(PgExceptionToStatus(std::runtime_error("boom"), "ctx"),
              StatusIs(absl::StatusCode::kInternal, "ctx: boom"));
}

TEST(PgTryTest, ReturnsValueWhenNothingThrows) {
  absl::StatusOr<int> v = PgTry([] { return 42; });
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(*v, 42);
  absl::Status s = PgTry([] {});
  EXPECT_THAT(s, IsOk());
}

TEST(PgTryTest, PassesThroughReturnedStatuses) {
  absl::Status s = PgTry([] { return absl::NotFoundError("no run"); });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, "no run"));
  absl::StatusOr<std::string> v =
      PgTry([]() -> absl::StatusOr<std::string> { return std::string("x"); });
  EXPECT_THAT(v, IsOk());
}

TEST(PgTryTest, ConvertsThrownExceptions) {
  absl::StatusOr<int> v = PgTry("kCount", []() -> int {
    throw pqxx::unique_violation("dup", "", "23505");
  });
  EXPECT_THAT(v, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("kCount: dup")));
  absl::Status s = PgTry([] { throw 17; });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInternal, Not(HasSubstr("17"))));
}

}  // namespace
}  // namespace mlops
