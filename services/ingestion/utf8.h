#pragma once
// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF. Pure functions; thread-safe.

#include <cstddef>
#include <string_view>

namespace mlops::ingestion {

// Offset of the first byte that starts an invalid sequence, or npos when all
// of `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);

inline bool IsValidUtf8(std::string_view s) { return FindInvalidUtf8(s) == std::string_view::npos; }

}  // namespace mlops::ingestion
