#pragma once
// The SQL of the online store's per-entity table (migrations/0002 and
// 0003, online_rows), as free functions over a caller's transaction, for
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

// Deletes the rows of view@version that `run_id` did not write; returns how
// many.
int64_t DeleteOnlineRowsNotOf(pqxx::transaction_base& tx, const std::string& view,
                              int64_t version, int64_t run_id);

// Every row of view@version, in row_index order.
std::vector<OnlineRow> ReadOnlineRows(pqxx::transaction_base& tx, const std::string& view,
                                      int64_t version);

}  // namespace mlops::features
