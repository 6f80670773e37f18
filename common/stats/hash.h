#pragma once
// XXH64 (xxHash, 64-bit): a fast, portable, seedable hash whose output is the
// same on every machine and in every process, which sketches need (absl::Hash
// is salted per process). Pure functions; thread-safe.
//
// XxHash64U64 and XxHash64Byte are XxHash64 of fixed-size inputs written out
// (seed 0), for the per-value paths of the profile sketches:
//   XxHash64U64(v)  == XxHash64(the 8 little-endian bytes of v)
//   XxHash64Byte(b) == XxHash64(std::string_view(&b, 1))

#include <cstdint>
#include <string_view>

namespace mlops::stats {

uint64_t XxHash64(std::string_view bytes, uint64_t seed = 0);

namespace xxh64_internal {
inline constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL;
inline constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr uint64_t kP3 = 0x165667B19E3779F9ULL;
inline constexpr uint64_t kP4 = 0x85EBCA77C2B2AE63ULL;
inline constexpr uint64_t kP5 = 0x27D4EB2F165667C5ULL;
inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t Avalanche(uint64_t h) {
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}
}  // namespace xxh64_internal

inline uint64_t XxHash64U64(uint64_t v) {
  using namespace xxh64_internal;  // NOLINT(build/namespaces): local constants
  uint64_t h = kP5 + 8;
  h ^= Rotl(v * kP2, 31) * kP1;
  h = Rotl(h, 27) * kP1 + kP4;
  return Avalanche(h);
}

inline uint64_t XxHash64Byte(uint8_t b) {
  using namespace xxh64_internal;  // NOLINT(build/namespaces): local constants
  uint64_t h = kP5 + 1;
  h ^= static_cast<uint64_t>(b) * kP5;
  h = Rotl(h, 11) * kP1;
  return Avalanche(h);
}

}  // namespace mlops::stats
