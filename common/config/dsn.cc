#include "common/config/dsn.h"

#include <libpq-fe.h>

#include <cctype>
#include <string>

namespace mlops {
namespace {

constexpr std::string_view kMask = "***";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool IsUri(std::string_view dsn) {
  return StartsWith(dsn, "postgresql://") || StartsWith(dsn, "postgres://");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// URI form: mask the password in "user:password@" and in "password=" query
// parameters.
std::string RedactUri(std::string_view dsn) {
  std::string out;
  const size_t scheme_end = dsn.find("://") + 3;
  out.append(dsn.substr(0, scheme_end));
  std::string_view rest = dsn.substr(scheme_end);
  const size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    const size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.append(userinfo.substr(0, colon + 1));
      out.append(kMask);
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
  } else {
    out.append(authority);
  }
  // Query parameters: ...?a=b&password=x&c=d
  const size_t query = rest.find('?');
  out.append(rest.substr(0, query));
  if (query == std::string_view::npos) return out;
  std::string_view params = rest.substr(query + 1);
  out.push_back('?');
  bool first = true;
  while (true) {
    const size_t amp = params.find('&');
    std::string_view param = params.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && EqualsIgnoreCase(param.substr(0, eq), "password")) {
      out.append(param.substr(0, eq + 1));
      out.append(kMask);
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    params = params.substr(amp + 1);
  }
  return out;
}

// Key/value form: keyword = value, value either bare (up to whitespace) or
// single-quoted with backslash escapes. Masks the value of "password".
std::string RedactKeyValue(std::string_view dsn) {
  std::string out;
  size_t i = 0;
  const size_t n = dsn.size();
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    // Whitespace between pairs.
    while (i < n && is_space(dsn[i])) out.push_back(dsn[i++]);
    // Keyword.
    const size_t key_begin = i;
    while (i < n && !is_space(dsn[i]) && dsn[i] != '=') ++i;
    const std::string_view key = dsn.substr(key_begin, i - key_begin);
    out.append(key);
    while (i < n && is_space(dsn[i])) out.push_back(dsn[i++]);
    if (i >= n || dsn[i] != '=') continue;  // malformed; keep scanning
    out.push_back(dsn[i++]);
    while (i < n && is_space(dsn[i])) out.push_back(dsn[i++]);
    // Value.
    const size_t value_begin = i;
    if (i < n && dsn[i] == '\'') {
      ++i;
      while (i < n && dsn[i] != '\'') i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
      if (i < n) ++i;  // closing quote
    } else {
      while (i < n && !is_space(dsn[i])) i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
    }
    if (EqualsIgnoreCase(key, "password")) {
      out.append(kMask);
    } else {
      out.append(dsn.substr(value_begin, i - value_begin));
    }
  }
  return out;
}

}  // namespace

absl::Status CheckDsn(std::string_view dsn) {
  const std::string copy(dsn);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(copy.c_str(), &error);
  if (options == nullptr) {
    std::string reason = error != nullptr ? error : "out of memory";
    if (error != nullptr) PQfreemem(error);
    while (!reason.empty() && std::isspace(static_cast<unsigned char>(reason.back()))) {
      reason.pop_back();
    }
    return absl::InvalidArgumentError("malformed PostgreSQL connection string: " + reason);
  }
  PQconninfoFree(options);
  return absl::OkStatus();
}

std::string RedactDsn(std::string_view dsn) {
  return IsUri(dsn) ? RedactUri(dsn) : RedactKeyValue(dsn);
}

}  // namespace mlops
