#include "common/testing/status_matchers.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<int> Three() { return 3; }
absl::StatusOr<int> Missing() { return absl::NotFoundError("model \"churn\" not found"); }

TEST(StatusMatchersTest, IsOkMatchesOkStatusAndStatusOrWithValue) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(Three(), IsOk());
  EXPECT_THAT(absl::InternalError("x"), Not(IsOk()));
  EXPECT_THAT(Missing(), Not(IsOk()));
}

TEST(StatusMatchersTest, IsOkAndHoldsMatchesTheValue) {
  EXPECT_THAT(Three(), IsOkAndHolds(3));
  EXPECT_THAT(Three(), IsOkAndHolds(::testing::Gt(2)));
  EXPECT_THAT(Three(), Not(IsOkAndHolds(4)));
  EXPECT_THAT(Missing(), Not(IsOkAndHolds(3)));
}

TEST(StatusMatchersTest, StatusIsMatchesCodeAndOptionallyMessage) {
  EXPECT_THAT(Missing(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::InvalidArgumentError("row 17"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Missing(), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(Missing(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("churn")));
  EXPECT_THAT(absl::AbortedError("retry"), StatusIs(absl::StatusCode::kAborted, "retry"));
  EXPECT_THAT(Missing(), Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("fraud"))));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
}

TEST(StatusMatchersTest, ExplainsTheActualStatus) {
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(::testing::ExplainMatchResult(IsOk(), Missing(), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("NOT_FOUND"));
  EXPECT_THAT(::testing::DescribeMatcher<absl::Status>(
                  StatusIs(absl::StatusCode::kNotFound, HasSubstr("x"))),
              HasSubstr("NOT_FOUND"));
}

TEST(StatusMatchersTest, AssertOkAndAssignDeclaresTheValue) {
  MLOPS_ASSERT_OK_AND_ASSIGN(int value, Three());
  EXPECT_EQ(value, 3);
  MLOPS_ASSERT_OK_AND_ASSIGN(value, Three());  // assigns an existing variable
  EXPECT_EQ(value, 3);
}

void AssignFromError() {
  MLOPS_ASSERT_OK_AND_ASSIGN(int value, Missing());
  (void)value;
}

TEST(StatusMatchersTest, AssertOkAndAssignFailsWithTheStatus) {
  EXPECT_FATAL_FAILURE(AssignFromError(), "NOT_FOUND");
}

}  // namespace
}  // namespace mlops
