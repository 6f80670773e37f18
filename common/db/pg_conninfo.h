#pragma once
// Small pure helpers around libpq connection strings and identifiers. No pqxx.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops {

using ConninfoParams = std::vector<std::pair<std::string, std::string>>;

// True for names we accept as schema / database identifiers:
// [a-z][a-z0-9_]{0,62}. Such names never need quoting but are quoted anyway.
bool IsValidPgIdentifier(const std::string& name);

// Parses `dsn` (URI "postgresql://..." or "key=value ...") with libpq and
// returns it as a key=value string with `overrides` set and `defaults` set
// where the DSN has no value. InvalidArgument when libpq cannot parse it or a
// keyword is unknown; the message never contains the DSN itself.
absl::StatusOr<std::string> RewriteConninfo(const std::string& dsn,
                                            const ConninfoParams& overrides,
                                            const ConninfoParams& defaults = {});

// RewriteConninfo(dsn, {}, defaults).
absl::StatusOr<std::string> AddConninfoDefaults(const std::string& dsn,
                                                const ConninfoParams& defaults);

}  // namespace mlops
