#include "common/db/pg_conninfo.h"

#include <libpq-fe.h>

#include <map>
#include <memory>

#include "absl/status/status.h"

namespace mlops {
namespace {

std::string QuoteValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

bool IsValidPgIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> RewriteConninfo(const std::string& dsn,
                                            const ConninfoParams& overrides,
                                            const ConninfoParams& defaults) {
  if (dsn.empty()) return absl::InvalidArgumentError("postgres DSN is empty");
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> opts(
      PQconninfoParse(dsn.c_str(), &err), PQconninfoFree);
  if (opts == nullptr) {
    std::string message = err != nullptr ? err : "out of memory";
    if (err != nullptr) PQfreemem(err);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    // libpq quotes the whole URI in some messages: never echo a password.
    for (size_t pos = message.find(dsn); pos != std::string::npos; pos = message.find(dsn)) {
      message.replace(pos, dsn.size(), "<DSN>");
    }
    return absl::InvalidArgumentError("invalid postgres DSN: " + message);
  }
  std::map<std::string, std::string> known;  // keyword -> value (set ones only)
  std::map<std::string, bool> keywords;
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    keywords[o->keyword] = true;
    if (o->val != nullptr) known[o->keyword] = o->val;
  }
  for (const auto& [key, value] : overrides) {
    if (!keywords.count(key)) {
      return absl::InvalidArgumentError("unknown libpq connection keyword \"" + key + "\"");
    }
    known[key] = value;
  }
  for (const auto& [key, value] : defaults) {
    if (!keywords.count(key)) {
      return absl::InvalidArgumentError("unknown libpq connection keyword \"" + key + "\"");
    }
    if (!known.count(key) && !value.empty()) known[key] = value;
  }
  std::string out;
  for (const auto& [key, value] : known) {
    if (!out.empty()) out.push_back(' ');
    out += key + "=" + QuoteValue(value);
  }
  return out;
}

absl::StatusOr<std::string> AddConninfoDefaults(const std::string& dsn,
                                                const ConninfoParams& defaults) {
  return RewriteConninfo(dsn, {}, defaults);
}

}  // namespace mlops
