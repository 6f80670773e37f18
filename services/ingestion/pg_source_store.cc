#include "services/ingestion/pg_source_store.h"

#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"

namespace mlops::ingestion {
namespace {

constexpr char kSourceColumns[] =
    "name, dataset, definition, interval_micros, paused, watermark, watermark_is_timestamp, "
    "coalesce(last_pull, ''::bytea), pull_count, committed_pull_count, next_pull_at_micros, "
    "created_at_micros";

std::string Bytes(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return b.str();
}

SourceRecord ToSource(const pqxx::row& r) {
  SourceRecord s;
  s.name = r[0].as<std::string>();
  s.dataset = r[1].as<std::string>();
  s.definition = Bytes(r[2]);
  s.interval_micros = r[3].as<int64_t>();
  s.paused = r[4].as<bool>();
  if (!r[5].is_null()) s.watermark = r[5].as<int64_t>();
  s.watermark_is_timestamp = r[6].as<bool>();
  s.last_pull = Bytes(r[7]);
  s.pull_count = r[8].as<int64_t>();
  s.committed_pull_count = r[9].as<int64_t>();
  s.next_pull_at_micros = r[10].as<int64_t>();
  s.created_at_micros = r[11].as<int64_t>();
  return s;
}

}  // namespace

absl::Status PgSourceStore::CreateSource(const SourceRecord& s) {
  absl::Status st = pool_->WithTransaction({"kCreateSource"}, [&](pqxx::transaction_base& tx)
                                                                   -> absl::Status {
    if (tx.exec_params("SELECT 1 FROM datasets WHERE name = $1", s.dataset).empty()) {
      return absl::NotFoundError(absl::StrCat("dataset \"", s.dataset, "\" not found"));
    }
    tx.exec_params(
        "INSERT INTO sources (name, dataset, definition, interval_micros, paused, watermark, "
        "watermark_is_timestamp, next_pull_at_micros, created_at_micros) "
        "VALUES ($1, $2, $3, $4, $5, CASE WHEN $10 THEN $6::bigint END, $7, $8, $9)",
        s.name, s.dataset, pqxx::binarystring(s.definition), s.interval_micros, s.paused,
        s.watermark.value_or(0), s.watermark_is_timestamp, s.next_pull_at_micros,
        s.created_at_micros, s.watermark.has_value());
    return absl::OkStatus();
  });
  if (st.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(absl::StrCat("source \"", s.name, "\" already exists"));
  }
  return st;
}

absl::StatusOr<SourceRecord> PgSourceStore::GetSource(const std::string& name) {
  return pool_->WithTransaction(
      {"kGetSource", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<SourceRecord> {
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kSourceColumns, " FROM sources WHERE name = $1"), name);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("source \"", name, "\" not found"));
        return ToSource(r[0]);
      });
}

absl::StatusOr<std::vector<SourceRecord>> PgSourceStore::ListSources(const std::string& dataset,
                                                                     const std::string& after_name,
                                                                     int limit) {
  return pool_->WithTransaction(
      {"kListSources", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<SourceRecord>> {
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kSourceColumns,
                         " FROM sources WHERE name > $1 AND ($2 = '' OR dataset = $2) "
                         "ORDER BY name LIMIT $3"),
            after_name, dataset, limit);
        std::vector<SourceRecord> out;
        for (const auto& row : r) out.push_back(ToSource(row));
        return out;
      });
}

absl::Status PgSourceStore::RecordPull(const std::string& name, const std::string& result,
                                       bool committed, int64_t next_pull_at_micros) {
  return pool_->WithTransaction({"kRecordPull"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result r = tx.exec_params(
        "UPDATE sources SET last_pull = $2, pull_count = pull_count + 1, "
        "committed_pull_count = committed_pull_count + $3, next_pull_at_micros = $4 "
        "WHERE name = $1 RETURNING name",
        name, pqxx::binarystring(result), committed ? 1 : 0, next_pull_at_micros);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("source \"", name, "\" not found"));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<IngestedFile>> PgSourceStore::ListFiles(const std::string& source) {
  return pool_->WithTransaction(
      {"kListSourceFiles", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<IngestedFile>> {
        pqxx::result r = tx.exec_params(
            "SELECT file, sha256, size_bytes, mtime_micros FROM source_files WHERE source = $1 "
            "ORDER BY file, sha256",
            source);
        std::vector<IngestedFile> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<int64_t>(), row[3].as<int64_t>()});
        }
        return out;
      });
}

absl::StatusOr<std::vector<std::string>> PgSourceStore::DueSources(int64_t now_micros, int limit) {
  return pool_->WithTransaction(
      {"kDueSources", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<std::string>> {
        pqxx::result r = tx.exec_params(
            "SELECT name FROM sources WHERE interval_micros > 0 AND NOT paused "
            "AND next_pull_at_micros <= $1 ORDER BY next_pull_at_micros, name LIMIT $2",
            now_micros, limit);
        std::vector<std::string> out;
        for (const auto& row : r) out.push_back(row[0].as<std::string>());
        return out;
      });
}

absl::Status WriteSourceProgress(pqxx::transaction_base& tx, const SourceProgress& p,
                                 const std::string& version_id, int64_t now_micros) {
  pqxx::result r =
      tx.exec_params("SELECT watermark FROM sources WHERE name = $1 FOR UPDATE", p.source);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("source \"", p.source, "\" not found"));
  if (p.advances_watermark) {
    std::optional<int64_t> stored;
    if (!r[0][0].is_null()) stored = r[0][0].as<int64_t>();
    if (stored != p.watermark_from) {
      // Not Aborted: retrying the transaction cannot help.
      return absl::FailedPreconditionError(
          absl::StrCat("source \"", p.source, "\": another pull advanced the watermark"));
    }
    tx.exec_params("UPDATE sources SET watermark = $2 WHERE name = $1", p.source, p.watermark_to);
  }
  if (!p.file.empty()) {
    pqxx::result taken = tx.exec_params(
        "INSERT INTO source_files (source, file, sha256, size_bytes, mtime_micros, version_id, "
        "ingested_at_micros) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING "
        "RETURNING file",
        p.source, p.file, p.file_sha256, p.file_size_bytes, p.file_mtime_micros, version_id,
        now_micros);
    if (taken.empty()) {
      return absl::AlreadyExistsError(
          absl::StrCat("source \"", p.source, "\": file ", p.file, " was taken by another pull"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mlops::ingestion
