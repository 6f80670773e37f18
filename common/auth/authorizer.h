#pragma once
// Per-RPC authorization: reads `authorization: Bearer <token>` from the call's
// metadata, authenticates it against a TokenStore and checks the role.
//
// In a handler:
//   absl::StatusOr<mlops::Principal> who = authorizer_->Authorize(*context, mlops::Role::kEditor);
//   if (!who.ok()) return mlops::ToGrpcStatus(who.status());
//
// Health and reflection are not behind it (they are not our handlers).

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/role.h"
#include "common/auth/token_store.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/string_ref.h"

namespace mlops {

// Does not own the TokenStore (main does; it must outlive the Authorizer).
// Thread-safe (const; the store is thread-safe).
class Authorizer {
 public:
  // Checks tokens against `tokens` (not null).
  explicit Authorizer(const TokenStore* tokens);

  // Auth turned off (--auth_disabled): every call is admin "anonymous".
  static Authorizer Disabled();

  bool disabled() const { return tokens_ == nullptr; }

  // Unauthenticated when the metadata is missing, malformed, or carries an
  // unknown or expired token; PermissionDenied naming the needed role when
  // the principal's role is below `required`. Works for sync and callback
  // servers (ServerContext and CallbackServerContext).
  absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& context,
                                      Role required) const;

  // The same decision on raw metadata at time `now`.
  absl::StatusOr<Principal> AuthorizeMetadata(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, Role required,
      absl::Time now) const;

 private:
  Authorizer() = default;

  const TokenStore* tokens_ = nullptr;  // null = disabled
};

// The metadata key and scheme, for clients: {"authorization", "Bearer <token>"}.
inline constexpr char kAuthorizationKey[] = "authorization";
std::string BearerValue(std::string_view token);

}  // namespace mlops
