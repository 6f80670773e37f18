#pragma once
// gMock matchers and gtest macros for absl::Status and absl::StatusOr<T>
// (Debian's Abseil 20220623 ships none):
//   EXPECT_THAT(store.Get("x"), IsOk());
//   EXPECT_THAT(store.Count(), IsOkAndHolds(3));
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("row 17")));
//   MLOPS_ASSERT_OK_AND_ASSIGN(auto model, registry.Get("churn"));
//   MLOPS_ASSERT_OK(store.Put(x));  MLOPS_EXPECT_OK(store.Put(y));

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace status_matchers_internal

// Matches an OK absl::Status or an absl::StatusOr<T> that holds a value.
MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "whose status is " << status.ToString();
  return status.ok();
}

// Matches an absl::StatusOr<T> that holds a value matching `value_matcher`
// (a matcher or a value for equality).
MATCHER_P(IsOkAndHolds, value_matcher,
          negation ? "is not OK or holds a value that does not match"
                   : "is OK and holds a value that matches") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

// Matches a Status / StatusOr whose code is `code`.
MATCHER_P(StatusIs, code,
          std::string(negation ? "has a code other than " : "has code ") +
              absl::StatusCodeToString(code)) {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "whose status is " << status.ToString();
  return status.code() == code;
}

// Matches a Status / StatusOr whose code is `code` and whose message matches
// `message_matcher` (a matcher or a string for equality).
MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "does not have " : "has ") + "code " +
               absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<const std::string&>(message_matcher)) {
  const absl::Status& status = status_matchers_internal::GetStatus(arg);
  *result_listener << "whose status is " << status.ToString();
  if (status.code() != code) return false;
  return ::testing::MatcherCast<const std::string&>(message_matcher)
      .Matches(std::string(status.message()));
}

}  // namespace mlops

#define MLOPS_EXPECT_OK(expr) EXPECT_THAT((expr), ::mlops::IsOk())
#define MLOPS_ASSERT_OK(expr) ASSERT_THAT((expr), ::mlops::IsOk())

// `lhs` = the value of `rexpr` (an absl::StatusOr<T>), or the test fails and
// returns. lhs may declare a variable: MLOPS_ASSERT_OK_AND_ASSIGN(auto x, F());
#define MLOPS_ASSERT_OK_AND_ASSIGN(lhs, rexpr)                        \
  MLOPS_ASSERT_OK_AND_ASSIGN_IMPL_(                                  \
      MLOPS_TESTING_CONCAT_(mlops_assert_statusor_, __LINE__), lhs, rexpr)

#define MLOPS_TESTING_CONCAT_INNER_(a, b) a##b
#define MLOPS_TESTING_CONCAT_(a, b) MLOPS_TESTING_CONCAT_INNER_(a, b)
#define MLOPS_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)                \
  auto statusor = (rexpr);                                                   \
  ASSERT_TRUE(statusor.ok()) << #rexpr << " returned " << statusor.status(); \
  lhs = std::move(statusor).value()
