#include "common/auth/authorizer.h"

#include <string>

#include "common/auth/token.h"
#include "gmock/gmock.h"
#include "grpcpp/test/server_context_test_spouse.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest()
      : tokens_(*ParseTokenFile(HashToken("viewer-tok") + " val viewer\n" +
                                    HashToken("editor-tok") + " eddie editor\n" +
                                    HashToken("deployer-tok") + " dora approver\n" +
                                    HashToken("expired-tok") +
                                    " old admin expires=2020-01-01T00:00:00Z\n",
                                "mem")),
        authorizer_(&tokens_) {}

  absl::StatusOr<Principal> Call(const std::string& auth_value, Role required) {
    storage_.clear();
    storage_.emplace("authorization", auth_value);
    std::multimap<grpc::string_ref, grpc::string_ref> md;
    for (const auto& [k, v] : storage_) md.emplace(grpc::string_ref(k), grpc::string_ref(v));
    return authorizer_.AuthorizeMetadata(md, required, kNow);
  }

  TokenStore tokens_;
  Authorizer authorizer_;
  std::multimap<std::string, std::string> storage_;
};

TEST_F(AuthorizerTest, AcceptsSufficientRole) {
  const absl::StatusOr<Principal> p = Call("Bearer editor-tok", Role::kEditor);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "eddie");
  EXPECT_EQ(p->role, Role::kEditor);
  EXPECT_TRUE(Call("Bearer deployer-tok", Role::kViewer).ok());
  EXPECT_TRUE(Call("bearer   deployer-tok", kApproverRole).ok());
}

TEST_F(AuthorizerTest, DeniesLowerRoleNamingTheRoleNeeded) {
  const absl::Status s = Call("Bearer viewer-tok", Role::kEditor).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("role editor or higher required"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"val\" has role viewer"));
  EXPECT_EQ(Call("Bearer editor-tok", Role::kDeployer).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Call("Bearer deployer-tok", Role::kAdmin).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, BadCredentialsAreUnauthenticated) {
  for (const char* value : {"Bearer nope", "Basic dXNlcjpwYXNz", "Bearer ", "editor-tok",
                            "Bearer expired-tok"}) {
    const absl::Status s = Call(value, Role::kViewer).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << value;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("editor-tok"))) << value;
  }
  const std::multimap<grpc::string_ref, grpc::string_ref> none;
  const absl::Status missing = authorizer_.AuthorizeMetadata(none, Role::kViewer, kNow).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("authorization: Bearer <token>"));
}

TEST_F(AuthorizerTest, TwoAuthorizationEntriesAreRejected) {
  const std::string a = "Bearer editor-tok", b = "Bearer viewer-tok";
  std::multimap<grpc::string_ref, grpc::string_ref> md;
  md.emplace("authorization", grpc::string_ref(a));
  md.emplace("authorization", grpc::string_ref(b));
  EXPECT_EQ(authorizer_.AuthorizeMetadata(md, Role::kViewer, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, ReadsMetadataOfAServerContext) {
  grpc::ServerContext context;
  grpc::testing::ServerContextTestSpouse spouse(&context);
  spouse.AddClientMetadata("authorization", BearerValue("deployer-tok"));
  const absl::StatusOr<Principal> p = authorizer_.Authorize(context, Role::kDeployer);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "dora");
  EXPECT_EQ(authorizer_.Authorize(context, Role::kAdmin).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(DisabledAuthorizerTest, EveryoneIsAnonymousAdmin) {
  const Authorizer a = Authorizer::Disabled();
  EXPECT_TRUE(a.disabled());
  grpc::ServerContext context;
  const absl::StatusOr<Principal> p = a.Authorize(context, Role::kAdmin);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "anonymous");
  EXPECT_EQ(p->role, Role::kAdmin);
}

}  // namespace
}  // namespace mlops
