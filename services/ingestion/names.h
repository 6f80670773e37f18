#pragma once
// The platform's one naming rule for datasets, columns, views, features,
// models and endpoints: [a-z][a-z0-9_]{0,62}. SQL-looking strings ("x; DROP
// TABLE y", "a--b", quotes) fail the rule itself, so a valid name is always
// safe as an identifier. Pure functions; thread-safe.

#include <string_view>

#include "absl/status/status.h"

namespace mlops::ingestion {

inline constexpr size_t kMaxNameLength = 63;

// OK when `name` follows the rule; otherwise InvalidArgument naming `what`
// (e.g. "dataset name", "column name") and the first problem:
//   column name "Amount": must start with a lowercase letter a-z, got 'A'
//   dataset name "x;drop": invalid character ';' at position 2; only a-z, 0-9 and _ are allowed
//   column name "": must not be empty
//   model name "aaaa...": 70 characters long; at most 63 allowed
// Unprintable bytes in the echoed name are escaped.
absl::Status ValidateName(std::string_view what, std::string_view name);

// The rule as a predicate.
bool IsValidName(std::string_view name);

}  // namespace mlops::ingestion
