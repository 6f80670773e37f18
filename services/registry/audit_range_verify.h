#pragma once
// VerifyAuditRange: recomputes the audit hash chain over entries from..to of
// a store. A long range is split in two halves verified at once, each over
// its own scan (its own Postgres connection and COPY, so two backends and
// both cores work): the second half starts from the stored entry_hash of the
// first half's last entry, which the first half recomputes, so the two
// halves together check exactly what one pass would. The first break (the
// first half's, else the second's) is reported. Thread-safe if the store is.
#include <cstdint>

#include "absl/status/statusor.h"
#include "services/registry/audit_chain.h"
#include "services/registry/registry_store.h"

namespace mlops::registry {

// Ranges shorter than this are verified in one pass.
inline constexpr int64_t kSplitAuditVerifyMin = 100000;

// `from` >= 1; `to` 0 = the head at the call's start. InvalidArgument when
// from > to (to != 0). Ranges of at least `split_min` entries are split.
absl::StatusOr<AuditVerifyResult> VerifyAuditRange(RegistryStore& store, int64_t from, int64_t to,
                                                   int64_t split_min = kSplitAuditVerifyMin);

}  // namespace mlops::registry
