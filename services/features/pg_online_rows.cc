#include "services/features/pg_online_rows.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mlops::features {
namespace {

// Rows per INSERT statement.
constexpr size_t kUpsertBatch = 2048;

// A Postgres text[] literal of the hex forms of get(begin..end-1) (quoted:
// an empty element would be rejected).
template <class Get>
std::string HexArray(size_t begin, size_t end, Get get) {
  std::string out = "{";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += ',';
    out += '"';
    out += absl::BytesToHexString(get(i));
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

void UpsertOnlineRows(pqxx::transaction_base& tx, const std::string& view, int64_t version,
                      int64_t run_id, const std::vector<OnlineRow>& rows) {
  for (size_t begin = 0; begin < rows.size(); begin += kUpsertBatch) {
    const size_t end = std::min(rows.size(), begin + kUpsertBatch);
    std::string indexes = "{";
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) indexes += ',';
      indexes += std::to_string(rows[i].row_index);
    }
    indexes += '}';
    tx.exec_params(
        "INSERT INTO online_rows (view, version, entity_key, row_index, run_id, row, statuses) "
        "SELECT $1, $2, decode(k, 'hex'), i, $3, decode(r, 'hex'), decode(s, 'hex') "
        "FROM unnest($4::text[], $5::int[], $6::text[], $7::text[]) AS t(k, i, r, s) "
        "ON CONFLICT (view, version, entity_key) DO UPDATE SET row_index = EXCLUDED.row_index, "
        "run_id = EXCLUDED.run_id, row = EXCLUDED.row, statuses = EXCLUDED.statuses",
        view, version, run_id,
        HexArray(begin, end, [&](size_t i) -> const std::string& { return rows[i].key; }),
        indexes,
        HexArray(begin, end, [&](size_t i) -> const std::string& { return rows[i].row; }),
        HexArray(begin, end, [&](size_t i) -> const std::string& { return rows[i].statuses; }));
  }
}

void DeleteOnlineRows(pqxx::transaction_base& tx, const std::string& view, int64_t version) {
  tx.exec_params("DELETE FROM online_rows WHERE view = $1 AND version = $2", view, version);
}

std::vector<OnlineRow> ReadOnlineRows(pqxx::transaction_base& tx, const std::string& view,
                                      int64_t version) {
  pqxx::result r = tx.exec_params(
      "SELECT entity_key, row_index, row, statuses FROM online_rows "
      "WHERE view = $1 AND version = $2 ORDER BY row_index",
      view, version);
  std::vector<OnlineRow> out;
  out.reserve(r.size());
  for (const auto& row : r) {
    out.push_back(OnlineRow{pqxx::binarystring(row[0]).str(), row[1].as<int32_t>(),
                            pqxx::binarystring(row[2]).str(), pqxx::binarystring(row[3]).str()});
  }
  return out;
}

}  // namespace mlops::features
