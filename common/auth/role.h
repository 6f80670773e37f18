#pragma once
// Roles and principals. Roles are ordered: a role may do everything the roles
// below it may. `deployer` is also the approver role (approvals, promotion).
// Plain values; functions are pure and thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mlops {

enum class Role { kViewer = 1, kEditor = 2, kDeployer = 3, kAdmin = 4 };

// The approver of promotions and approvals is the deployer role.
inline constexpr Role kApproverRole = Role::kDeployer;

// "viewer", "editor", "deployer", "admin".
std::string_view RoleName(Role role);

// The names above (case-insensitive), and "approver" for deployer.
absl::StatusOr<Role> ParseRole(std::string_view name);

// True when `have` may do what `need` may.
inline bool RoleAtLeast(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

// The authenticated caller. `name` is what audit logs and approvals record.
struct Principal {
  std::string name;
  Role role = Role::kViewer;
};

}  // namespace mlops
