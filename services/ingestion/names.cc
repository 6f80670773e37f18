#include "services/ingestion/names.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace mlops::ingestion {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsNameChar(char c) { return IsLower(c) || (c >= '0' && c <= '9') || c == '_'; }

// The name as echoed in messages: escaped, cut at 80 bytes.
std::string Shown(std::string_view name) {
  const bool cut = name.size() > 80;
  const absl::string_view head(name.data(), cut ? 80 : name.size());
  return absl::StrCat("\"", absl::CHexEscape(head), cut ? "...\"" : "\"");
}

std::string CharShown(char c) {
  const char buf[1] = {c};
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(buf, 1)), "'");
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || !IsLower(name[0])) return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

absl::Status ValidateName(std::string_view what, std::string_view name) {
  if (IsValidName(name)) return absl::OkStatus();
  const std::string prefix = absl::StrCat(std::string(what), " ", Shown(name), ": ");
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": must not be empty"));
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, name.size(),
                                                   " characters long; at most ", kMaxNameLength,
                                                   " allowed"));
  }
  if (!IsLower(name[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "must start with a lowercase letter a-z, got ", CharShown(name[0])));
  }
  for (size_t i = 1; i < name.size(); ++i) {
    if (!IsNameChar(name[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat(prefix, "invalid character ", CharShown(name[i]), " at position ", i,
                       "; only a-z, 0-9 and _ are allowed"));
    }
  }
  return absl::InternalError("ValidateName: unreachable");
}

}  // namespace mlops::ingestion
