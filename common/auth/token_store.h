#pragma once
// Bearer-token authentication against a token file. The file stores only
// hashes, one token per line:
//
//   # comment
//   <sha256 hex of the token> <principal> <role> [expires=<RFC3339, e.g. 2027-01-31T00:00:00Z>]
//
// principal: [A-Za-z0-9][A-Za-z0-9._@-]{0,127}; role: viewer | editor |
// deployer (= approver) | admin. Blank lines and '#' comments are ignored.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/role.h"

namespace mlops {

// One line of a token file.
struct TokenEntry {
  Principal principal;
  std::optional<absl::Time> expires;  // none = never
  int line = 0;
};

// Token hash (lowercase hex) -> entry.
using TokenTable = std::unordered_map<std::string, TokenEntry>;

// Parses a token file's text. InvalidArgument naming `source` and the line on
// the first bad line, e.g. `tokens.txt line 4: unknown role "owner" ...`.
// Messages never repeat the hash field (it could be a pasted raw token).
absl::StatusOr<TokenTable> ParseTokenFile(std::string_view text, std::string_view source);

// Owns the current token table and the path it came from. Thread-safe:
// Authenticate may run on any number of threads while Reload swaps the table
// atomically (readers see the old or the new table, never a mix).
class TokenStore {
 public:
  // Reads and parses `path`. NotFound when the file is missing; the parse
  // errors of ParseTokenFile.
  static absl::StatusOr<std::unique_ptr<TokenStore>> Load(std::string path);

  // A store over a fixed table (tests, tools). Reload() then fails.
  explicit TokenStore(TokenTable table);

  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Re-reads the file (e.g. on SIGHUP). On error the current table stays.
  absl::Status Reload();

  // Unauthenticated for an empty, unknown or expired token (at `now`); the
  // message never contains the token.
  absl::StatusOr<Principal> Authenticate(std::string_view bearer_token, absl::Time now) const;

  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  TokenStore(std::string path, TokenTable table);

  const std::string path_;  // empty for a fixed table
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mlops
