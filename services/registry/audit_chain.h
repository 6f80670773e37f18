#pragma once
// The tamper-evident audit log's hash chain (pure functions; thread-safe).
//
// Canonical encoding of an entry (the bytes that are hashed), fields in this
// order, each written as <decimal byte length> ':' <bytes> ';':
//   "mlops-audit-v1", prev_hash, sequence (decimal), at_micros (decimal),
//   principal, event_type (decimal enum value), model, version (decimal),
//   endpoint, request_id, before_json, after_json, reason, details_json
// entry_hash = lowercase hex sha256(canonical encoding). The first entry's
// prev_hash is 64 '0' characters; every later entry's prev_hash is the
// previous entry's entry_hash, and sequences increase by exactly 1.
#include <cstdint>
#include <string>
#include <vector>

namespace mlops::registry {

struct AuditEntry {
  int64_t sequence = 0;
  int64_t at_micros = 0;
  std::string principal;
  int event_type = 0;  // mlops.registry.v1.AuditEventType value
  std::string model;
  int64_t version = 0;
  std::string endpoint;
  std::string request_id;
  std::string before_json;
  std::string after_json;
  std::string reason;
  std::string details_json;
  std::string prev_hash;
  std::string entry_hash;
};

inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string CanonicalAuditEncoding(const AuditEntry& e);
// Lowercase hex sha256 of the canonical encoding.
std::string ComputeAuditHash(const AuditEntry& e);
// A JSON string literal (quotes included) for `s`.
std::string JsonQuote(const std::string& s);

// Lowercase hex sha256 of arbitrary bytes.
std::string Sha256Hex(const std::string& bytes);

enum class AuditBreak { kNone = 0, kHashMismatch = 1, kPrevLinkMismatch = 2, kSequenceGap = 3 };

struct AuditVerifyResult {
  bool ok = true;
  int64_t entries_checked = 0;
  int64_t first_broken_sequence = 0;
  AuditBreak break_kind = AuditBreak::kNone;
  std::string expected_hash;
  std::string actual_hash;
  std::string head_hash;  // entry_hash of the last entry checked
};

// Incremental sha256 that keeps its OpenSSL algorithm handle and context
// between hashes (no per-hash algorithm fetch). Not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  // Lowercase hex sha256 of `bytes`.
  std::string Hex(const std::string& bytes);

 private:
  struct Impl;
  Impl* impl_;
};

// Verifies entries fed in sequence order, one at a time (so that a million
// entries need not be held in memory). Not thread-safe.
class AuditChainVerifier {
 public:
  // `prev_hash`: the entry_hash before the first entry fed (kGenesisHash from
  // the start); `prev_sequence` its sequence (0 from the start).
  AuditChainVerifier(std::string prev_hash, int64_t prev_sequence);
  // Returns false once a break was found (stop feeding).
  bool Feed(const AuditEntry& e);
  // The same with `computed_hash` = ComputeAuditHash(e), computed elsewhere
  // (e.g. on another thread, ahead of the chain checks).
  bool Feed(const AuditEntry& e, const std::string& computed_hash);
  const AuditVerifyResult& result() const { return result_; }

 private:
  std::string prev_hash_;
  int64_t prev_sequence_;
  AuditVerifyResult result_;
  Sha256Hasher hasher_;
};

}  // namespace mlops::registry
