#pragma once
// Internal to the Postgres store (pg_ingestion_store.cc, pg_chunk_staging.cc):
// the COPY line format of `chunks` and the commit transaction's body, shared
// by CommitVersion (chunks copied at commit) and PgChunkStaging (chunks
// copied while the batch streams). Includes pqxx; include it from pg_*.cc only.
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

// One COPY text line of `chunks` (id, row_count, rows) in `line`, built in
// one buffer: the bytea in hex form, \\x<hex> (the backslash escaped for COPY
// text). Much cheaper than stream_to, which escapes the hex byte by byte.
void ChunkCopyLine(const std::string& id, int32_t row_count, const std::string& bytes,
                   std::string* line);

// COPY of whole text lines into `table`. pqxx 6.4 exposes raw lines only
// through the deprecated tablewriter (stream_to's write_raw_line is private).
// Not thread-safe; lives inside one transaction.
class CopyLineWriter {
 public:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  CopyLineWriter(pqxx::transaction_base& tx, const std::string& table,
                 const std::vector<std::string>& columns)
      : writer_(tx, table, columns.begin(), columns.end()) {}
#pragma GCC diagnostic pop
  void Write(const std::string& line) { writer_.write_raw_line(line); }
  void Complete() { writer_.complete(); }

 private:
  pqxx::tablewriter writer_;
};

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
