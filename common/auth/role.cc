#include "common/auth/role.h"

#include <cctype>
#include <string>

namespace mlops {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer: return "viewer";
    case Role::kEditor: return "editor";
    case Role::kDeployer: return "deployer";
    case Role::kAdmin: return "admin";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "viewer") return Role::kViewer;
  if (lower == "editor") return Role::kEditor;
  if (lower == "deployer" || lower == "approver") return Role::kDeployer;
  if (lower == "admin") return Role::kAdmin;
  return absl::InvalidArgumentError("unknown role \"" + std::string(name) +
                                    "\" (viewer|editor|deployer|approver|admin)");
}

}  // namespace mlops
