#include "common/auth/authorizer.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace {

constexpr absl::string_view kExpected = "expected metadata 'authorization: Bearer <token>'";

// The token from the single authorization entry, or Unauthenticated.
absl::StatusOr<std::string_view> BearerToken(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  const auto range = metadata.equal_range(grpc::string_ref(kAuthorizationKey));
  if (range.first == range.second) {
    return absl::UnauthenticatedError(absl::StrCat("missing credentials: ", kExpected));
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError(
        absl::StrCat("more than one authorization entry: ", kExpected));
  }
  const grpc::string_ref& ref = range.first->second;
  absl::string_view value(ref.data(), ref.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        absl::StrCat("authorization is not a bearer token: ", kExpected));
  }
  value = absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (value.empty()) {
    return absl::UnauthenticatedError(absl::StrCat("empty bearer token: ", kExpected));
  }
  return std::string_view(value.data(), value.size());
}

}  // namespace

Authorizer::Authorizer(const TokenStore* tokens) : tokens_(tokens) {}

Authorizer Authorizer::Disabled() { return Authorizer(); }

absl::StatusOr<Principal> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                                Role required) const {
  return AuthorizeMetadata(context.client_metadata(), required, absl::Now());
}

absl::StatusOr<Principal> Authorizer::AuthorizeMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Role required,
    absl::Time now) const {
  if (disabled()) return Principal{"anonymous", Role::kAdmin};
  const absl::StatusOr<std::string_view> token = BearerToken(metadata);
  if (!token.ok()) return token.status();
  absl::StatusOr<Principal> principal = tokens_->Authenticate(*token, now);
  if (!principal.ok()) return principal.status();
  if (!RoleAtLeast(principal->role, required)) {
    const std::string_view need = RoleName(required);
    const std::string_view have = RoleName(principal->role);
    return absl::PermissionDeniedError(absl::StrCat(
        "role ", absl::string_view(need.data(), need.size()), " or higher required; principal \"",
        principal->name, "\" has role ", absl::string_view(have.data(), have.size())));
  }
  return principal;
}

std::string BearerValue(std::string_view token) {
  return absl::StrCat("Bearer ", absl::string_view(token.data(), token.size()));
}

}  // namespace mlops
