#pragma once
// Helpers shared by the pg_registry_*.cc files (pqxx inside; include only
// from pg_*.cc).
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "services/registry/audit_chain.h"
#include "services/registry/registry_store.h"
#include "services/registry/registry_types.h"

namespace mlops::registry::pg_registry {

// A Postgres array literal of numbers: "{1,2,3}".
template <class T>
std::string NumArray(const std::vector<T>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) absl::StrAppend(&out, i > 0 ? "," : "", items[i]);
  return out + "}";
}

// A Postgres array literal of quoted text elements.
std::string TextArray(const std::vector<std::string>& items);
// The bytes of a bytea field.
std::string Bytes(const pqxx::field& f);

// The columns VersionFromRow reads, ending with the FROM clause (alias `v`).
inline constexpr char kVersionColumns[] =
    "SELECT v.model, v.version, v.stage, v.stage_changed_at_micros, v.artifact_sha256, "
    "v.artifact_size, v.run_id, v.training_dataset_version, v.metadata, v.created_at_micros, "
    "v.created_by FROM versions v ";
VersionRecord VersionFromRow(const pqxx::row& r);
// Loads tags, evaluations and aliases of `versions` (three queries).
void LoadDetails(pqxx::transaction_base& txn, std::vector<VersionRecord>& versions);

// Appends `e` to the hash chain under the head's row lock (fills sequence,
// prev_hash, entry_hash).
AuditEntry AppendAudit(pqxx::transaction_base& txn, AuditEntry e);
// NotFound naming the model if unknown.
absl::StatusOr<ModelRecord> LoadModel(pqxx::transaction_base& txn, const std::string& name);
// NotFound naming the model or version if unknown; with tags, evaluations, aliases.
absl::StatusOr<VersionRecord> LoadVersion(pqxx::transaction_base& txn, const std::string& model,
                                          int64_t version);
// NotFound if unknown; with its gate report and approvals.
absl::StatusOr<TransitionRecord> LoadTransition(pqxx::transaction_base& txn,
                                                const std::string& id);

// On a promotion of `candidate` over `primary`: starts a PENDING rollout on
// every endpoint of the model that has a promotion spec, superseding any
// unfinished one.
void StartPromotionRollouts(pqxx::transaction_base& txn, const std::string& model,
                            int64_t primary, int64_t candidate,
                            const std::string& transition_request_id, const AuditEntry& like);

}  // namespace mlops::registry::pg_registry
