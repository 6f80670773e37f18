#pragma once
// Bearer tokens: generation and the hash that token files store. Stateless,
// thread-safe.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mlops {

// Lowercase hex SHA-256 of `token` (64 characters): what a token file stores.
std::string HashToken(std::string_view token);

// A new token: 32 random bytes from the OpenSSL CSPRNG as 64 lowercase hex
// characters. Internal error only if the CSPRNG fails.
absl::StatusOr<std::string> GenerateToken();

// True for 64 hex characters (either case).
bool IsSha256Hex(std::string_view s);

}  // namespace mlops
