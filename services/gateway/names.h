#pragma once
// The platform's one naming rule for datasets, columns, models, endpoints:
// [a-z][a-z0-9_]{0,62}. Pure; thread-safe.

#include <string_view>

namespace mlops::gateway {

inline bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 63 || s[0] < 'a' || s[0] > 'z') return false;
  for (char ch : s) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

}  // namespace mlops::gateway
