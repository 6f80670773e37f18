#pragma once
// Internal to the Postgres store (pg_ingestion_store.cc, pg_chunk_staging.cc):
// the commit transaction's body, shared by CommitVersion (chunks copied at
// commit) and PgChunkStaging (chunks copied while the batch streams). Includes pqxx; include it from pg_*.cc only.
#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

// Makes the batch's own chunks exist as "<version_id>/<n>" in `tx`; returns
// their row counts in order.
using OwnChunkWriter = std::function<absl::StatusOr<std::vector<int32_t>>(
    pqxx::transaction_base& tx, const PreparedVersion& prepared, const std::string& version_id)>;

// IngestionStore::CommitVersion's work inside `tx` (which the caller commits
// or rolls back): lock the dataset, replay by idempotency key, prepare(head),
// the chunks (write_own_chunks), the version, its chunk list, the new head
// and the source progress.
absl::StatusOr<CommitOutcome> CommitInTransaction(
    pqxx::transaction_base& tx, const std::string& dataset, const std::string& idempotency_key,
    const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
        const std::optional<VersionRecord>& head)>& prepare,
    const OwnChunkWriter& write_own_chunks);

}  // namespace mlops::ingestion
