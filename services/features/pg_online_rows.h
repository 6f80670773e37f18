#pragma once
// The SQL of the online store's per-entity table (migrations/0002 and
// 0003, online_rows: the per-entity overrides incremental runs write on top
// of the newest FULL run's online_chunks), as free functions over a caller's transaction, for
// PgFeatureStore. Stateless.

#include <pqxx/pqxx>

#include <cstdint>
#include <string>
#include <vector>

#include "services/features/feature_store.h"

namespace mlops::features {

// Inserts or updates `rows` of view@version as written by `run_id`, in
// batches (one statement per batch; the bytes travel hex-encoded in text
// arrays).
void UpsertOnlineRows(pqxx::transaction_base& tx, const std::string& view, int64_t version,
                      int64_t run_id, const std::vector<OnlineRow>& rows);

// Deletes every row of view@version (a FULL run's chunks replace them).
void DeleteOnlineRows(pqxx::transaction_base& tx, const std::string& view, int64_t version);

// Every row of view@version, in row_index order.
std::vector<OnlineRow> ReadOnlineRows(pqxx::transaction_base& tx, const std::string& view,
                                      int64_t version);

}  // namespace mlops::features
