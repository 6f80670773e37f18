#include "services/registry/audit_range_verify.h"

#include <future>
#include <string>

#include "common/status/status_macros.h"
#include "services/registry/audit_verify_pipeline.h"

namespace mlops::registry {
namespace {

// One pass over from..to, the chain continuing from `prev_hash` (the
// entry_hash of entry from - 1).
absl::StatusOr<AuditVerifyResult> VerifyOnePass(RegistryStore& store, int64_t from, int64_t to,
                                                std::string prev_hash) {
  AuditVerifyPipeline verifier(std::move(prev_hash), from - 1);
  MLOPS_RETURN_IF_ERROR(store.ScanAudit(from, to, [&](AuditEntry& e) { return verifier.Add(e); }));
  return verifier.Finish();
}

// The first half's result followed by the second's.
AuditVerifyResult Join(const AuditVerifyResult& first, const AuditVerifyResult& second) {
  if (!first.ok) return first;
  AuditVerifyResult out = second;
  out.entries_checked += first.entries_checked;
  if (second.entries_checked == 0) out.head_hash = first.head_hash;
  return out;
}

}  // namespace

absl::StatusOr<AuditVerifyResult> VerifyAuditRange(RegistryStore& store, int64_t from, int64_t to,
                                                   int64_t split_min) {
  if (from <= 0) from = 1;
  if (to != 0 && from > to) {
    return absl::InvalidArgumentError("from_sequence is after to_sequence");
  }
  MLOPS_ASSIGN_OR_RETURN(std::string prev, store.AuditHashAt(from - 1));
  if (to == 0) {
    MLOPS_ASSIGN_OR_RETURN(to, store.AuditHead());
    if (to < from) return VerifyOnePass(store, from, 0, std::move(prev));
  }
  if (to - from + 1 < split_min) return VerifyOnePass(store, from, to, std::move(prev));
  const int64_t mid = from + (to - from) / 2;
  absl::StatusOr<std::string> mid_hash = store.AuditHashAt(mid);
  // Entry `mid` missing: one pass finds the gap where it is.
  if (absl::IsNotFound(mid_hash.status())) return VerifyOnePass(store, from, to, std::move(prev));
  if (!mid_hash.ok()) return mid_hash.status();
  std::future<absl::StatusOr<AuditVerifyResult>> first = std::async(
      std::launch::async, [&store, from, mid, &prev] { return VerifyOnePass(store, from, mid, prev); });
  absl::StatusOr<AuditVerifyResult> second = VerifyOnePass(store, mid + 1, to, std::move(*mid_hash));
  absl::StatusOr<AuditVerifyResult> head = first.get();
  if (!head.ok()) return head.status();
  if (!second.ok()) return second.status();
  return Join(*head, *second);
}

}  // namespace mlops::registry
