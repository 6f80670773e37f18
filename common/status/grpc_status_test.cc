#include "common/status/grpc_status.h"

#include <string>

#include "absl/status/statusor.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

TEST(GrpcStatusTest, OkMapsToOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(GrpcStatusTest, KeepsCodeAndMessageForClientErrors) {
  const grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError("row 3: bad"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "row 3: bad");
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(absl::UnauthenticatedError("x")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(GrpcStatusTest, HidesInternalDetail) {
  const grpc::Status s = ToGrpcStatus(absl::InternalError("pqxx: secret dsn"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message().find("secret"), std::string::npos);
}

TEST(GrpcStatusTest, TruncatesLongMessages) {
  const grpc::Status s = ToGrpcStatus(absl::InvalidArgumentError(std::string(5000, 'x')));
  EXPECT_LE(s.error_message().size(), kMaxGrpcMessageBytes);
  EXPECT_NE(s.error_message().find("truncated"), std::string::npos);
}

TEST(GrpcStatusTest, RoundTripsFromGrpc) {
  const absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::ABORTED, "retry"));
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(s.message(), "retry");
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  MLOPS_ASSIGN_OR_RETURN(int half, Half(x));
  MLOPS_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  MLOPS_RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops
