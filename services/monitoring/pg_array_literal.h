#pragma once

// Postgres array literals for binding a list as one text parameter
// (`$1::text[]`, `$1::bigint[]`). Pure functions.

#include <cstdint>
#include <string>
#include <vector>

namespace mlops::monitoring {

// {"a","b"} with backslash and quote escaped.
inline std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// {1,2,3}
inline std::string Int64ArrayLiteral(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

}  // namespace mlops::monitoring
