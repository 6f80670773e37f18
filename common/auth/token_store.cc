#include "common/auth/token_store.h"

#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/auth/token.h"
#include "common/config/file_util.h"

namespace mlops {
namespace {

constexpr absl::string_view kLineFormat =
    "expected '<sha256 hex> <principal> <role> [expires=<RFC3339>]'";

bool IsValidPrincipal(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string ToLower(absl::string_view s) {
  std::string out(s.data(), s.size());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Parses one non-comment line into (hash, entry).
absl::Status ParseLine(absl::string_view line, std::string* hash, TokenEntry* entry) {
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (fields.size() < 3 || fields.size() > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(kLineFormat, ", got ", fields.size(), " field(s)"));
  }
  if (!IsSha256Hex(std::string_view(fields[0].data(), fields[0].size()))) {
    return absl::InvalidArgumentError(
        "first field must be the 64-hex-character sha256 of the token, not the token itself");
  }
  *hash = ToLower(fields[0]);
  if (!IsValidPrincipal(fields[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal \"", fields[1], "\" must match [A-Za-z0-9][A-Za-z0-9._@-]{0,127}"));
  }
  entry->principal.name = std::string(fields[1]);
  const absl::StatusOr<Role> role = ParseRole(std::string_view(fields[2].data(), fields[2].size()));
  if (!role.ok()) return role.status();
  entry->principal.role = *role;
  if (fields.size() == 4) {
    constexpr absl::string_view kExpires = "expires=";
    if (!absl::StartsWith(fields[3], kExpires)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected field \"", fields[3], "\"; ", kLineFormat));
    }
    const absl::string_view when = fields[3].substr(kExpires.size());
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, when, &t, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expires \"", when, "\" is not RFC3339 (e.g. 2027-01-31T00:00:00Z): ", error));
    }
    entry->expires = t;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TokenTable> ParseTokenFile(std::string_view text, std::string_view source) {
  TokenTable table;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    std::string hash;
    TokenEntry entry;
    entry.line = line_no;
    const absl::Status s = ParseLine(line, &hash, &entry);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(absl::string_view(source.data(), source.size()),
                                                     " line ", line_no, ": ", s.message()));
    }
    const auto [it, inserted] = table.emplace(std::move(hash), std::move(entry));
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(absl::string_view(source.data(), source.size()), " line ", line_no,
                       ": same token hash as line ", it->second.line));
    }
  }
  return table;
}

absl::StatusOr<std::unique_ptr<TokenStore>> TokenStore::Load(std::string path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<TokenTable> table = ParseTokenFile(*text, path);
  if (!table.ok()) return table.status();
  return std::unique_ptr<TokenStore>(new TokenStore(std::move(path), *std::move(table)));
}

TokenStore::TokenStore(TokenTable table) : TokenStore(std::string(), std::move(table)) {}

TokenStore::TokenStore(std::string path, TokenTable table)
    : path_(std::move(path)), table_(std::make_shared<const TokenTable>(std::move(table))) {}

absl::Status TokenStore::Reload() {
  if (path_.empty()) return absl::FailedPreconditionError("token store has no file to reload");
  absl::StatusOr<std::string> text = ReadFileToString(path_);
  if (!text.ok()) return text.status();
  absl::StatusOr<TokenTable> table = ParseTokenFile(*text, path_);
  if (!table.ok()) return table.status();
  auto fresh = std::make_shared<const TokenTable>(*std::move(table));
  absl::MutexLock lock(&mu_);
  table_ = std::move(fresh);
  return absl::OkStatus();
}

absl::StatusOr<Principal> TokenStore::Authenticate(std::string_view bearer_token,
                                                   absl::Time now) const {
  if (bearer_token.empty()) return absl::UnauthenticatedError("missing bearer token");
  std::shared_ptr<const TokenTable> table;
  {
    absl::ReaderMutexLock lock(&mu_);
    table = table_;
  }
  const auto it = table->find(HashToken(bearer_token));
  if (it == table->end()) return absl::UnauthenticatedError("unknown bearer token");
  const TokenEntry& entry = it->second;
  if (entry.expires.has_value() && now >= *entry.expires) {
    return absl::UnauthenticatedError(absl::StrCat(
        "bearer token expired at ",
        absl::FormatTime(absl::RFC3339_sec, *entry.expires, absl::UTCTimeZone())));
  }
  return entry.principal;
}

size_t TokenStore::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return table_->size();
}

}  // namespace mlops
