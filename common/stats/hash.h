#pragma once
// XXH64 (xxHash, 64-bit): a fast, portable, seedable hash whose output is the
// same on every machine and in every process, which sketches need (absl::Hash
// is salted per process). Pure function; thread-safe.

#include <cstdint>
#include <string_view>

namespace mlops::stats {

uint64_t XxHash64(std::string_view bytes, uint64_t seed = 0);

}  // namespace mlops::stats
