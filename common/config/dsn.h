#pragma once
// PostgreSQL connection strings (libpq "DSN"): key/value form
// ("host=db port=5432 dbname=mlops user=svc password=...") or URI form
// ("postgresql://svc:...@db:5432/mlops?sslmode=require"). Pure functions,
// thread-safe.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mlops {

// OK when libpq (PQconninfoParse) accepts `dsn`; otherwise InvalidArgument
// with libpq's reason, e.g. `invalid connection option "hots"`. The DSN itself
// is not repeated in the message (it may hold a password).
absl::Status CheckDsn(std::string_view dsn);

// The DSN with every password replaced by "***", the rest unchanged, for logs:
//   "host=db password='s e' user=x"          -> "host=db password=*** user=x"
//   "postgresql://u:secret@db/x?password=p" -> "postgresql://u:***@db/x?password=***"
// Works on malformed input too (never returns the password of a DSN whose
// password keyword or userinfo it can find).
std::string RedactDsn(std::string_view dsn);

}  // namespace mlops
