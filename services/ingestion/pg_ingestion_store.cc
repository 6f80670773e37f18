#include "services/ingestion/pg_ingestion_store.h"

#include <pqxx/pqxx>

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/ingestion/pg_chunk_copy.h"
#include "services/ingestion/pg_chunk_staging.h"
#include "services/ingestion/pg_commit.h"
#include "services/ingestion/pg_source_store.h"

namespace mlops::ingestion {
namespace {

constexpr char kDatasetColumns[] =
    "d.name, d.meta, d.suite_version, s.suite, d.head_version_id, d.head_sequence, "
    "d.head_row_count, d.created_at_micros, d.updated_at_micros";
constexpr char kVersionColumns[] =
    "id, dataset, sequence, parent_id, mode, row_count, batch_row_count, principal, source, "
    "created_at_micros, suite_version, coalesce(idempotency_key, ''), content_digest, record";
constexpr char kBlobColumns[] = ", report, profile, batch_profile";

// A binary-format integer field (network byte order).
uint64_t BigEndian(const char* p, int size) {
  uint64_t v = 0;
  for (int i = 0; i < size; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string Bytes(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return b.str();
}

DatasetRecord ToDataset(const pqxx::row& r) {
  DatasetRecord d;
  d.name = r[0].as<std::string>();
  d.meta = Bytes(r[1]);
  d.suite_version = r[2].as<int64_t>();
  d.suite = Bytes(r[3]);
  d.head_version_id = r[4].as<std::string>();
  d.head_sequence = r[5].as<int64_t>();
  d.head_row_count = r[6].as<int64_t>();
  d.created_at_micros = r[7].as<int64_t>();
  d.updated_at_micros = r[8].as<int64_t>();
  return d;
}

VersionRecord ToVersion(const pqxx::row& r, bool with_blobs) {
  VersionRecord v;
  v.id = r[0].as<std::string>();
  v.dataset = r[1].as<std::string>();
  v.sequence = r[2].as<int64_t>();
  v.parent_id = r[3].as<std::string>();
  v.mode = r[4].as<int>();
  v.row_count = r[5].as<int64_t>();
  v.batch_row_count = r[6].as<int64_t>();
  v.principal = r[7].as<std::string>();
  v.source = r[8].as<std::string>();
  v.created_at_micros = r[9].as<int64_t>();
  v.suite_version = r[10].as<int64_t>();
  v.idempotency_key = r[11].as<std::string>();
  v.content_digest = r[12].as<std::string>();
  v.record = Bytes(r[13]);
  if (with_blobs) {
    v.report = Bytes(r[14]);
    v.profile = Bytes(r[15]);
    v.batch_profile = Bytes(r[16]);
  }
  return v;
}

std::string VersionSelect(bool with_blobs) {
  return absl::StrCat("SELECT ", kVersionColumns, with_blobs ? kBlobColumns : "",
                      " FROM dataset_versions ");
}

}  // namespace

absl::Status PgIngestionStore::CreateDataset(const DatasetRecord& d) {
  absl::Status s = pool_->WithTransaction({"kCreateDataset"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "INSERT INTO datasets (name, meta, suite_version, created_at_micros, updated_at_micros) "
        "VALUES ($1, $2, $3, $4, $4)",
        d.name, pqxx::binarystring(d.meta), d.suite_version, d.created_at_micros);
    tx.exec_params("INSERT INTO expectation_suites (dataset, version, suite) VALUES ($1, $2, $3)",
                   d.name, d.suite_version, pqxx::binarystring(d.suite));
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(absl::StrCat("dataset \"", d.name, "\" already exists"));
  }
  return s;
}

absl::StatusOr<DatasetRecord> PgIngestionStore::GetDataset(const std::string& name) {
  return pool_->WithTransaction(
      {"kGetDataset", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<DatasetRecord> {
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kDatasetColumns,
                         " FROM datasets d JOIN expectation_suites s ON s.dataset = d.name "
                         "AND s.version = d.suite_version WHERE d.name = $1"),
            name);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("dataset \"", name, "\" not found"));
        return ToDataset(r[0]);
      });
}

absl::StatusOr<std::vector<DatasetRecord>> PgIngestionStore::ListDatasets(
    const std::string& prefix, const std::string& after_name, int limit) {
  return pool_->WithTransaction(
      {"kListDatasets", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<DatasetRecord>> {
        pqxx::result r = tx.exec_params(
            absl::StrCat("SELECT ", kDatasetColumns,
                         " FROM datasets d JOIN expectation_suites s ON s.dataset = d.name "
                         "AND s.version = d.suite_version WHERE d.name > $1 "
                         "AND left(d.name, length($2)) = $2 ORDER BY d.name LIMIT $3"),
            after_name, prefix, limit);
        std::vector<DatasetRecord> out;
        for (const auto& row : r) out.push_back(ToDataset(row));
        return out;
      });
}

absl::StatusOr<int64_t> PgIngestionStore::UpdateSuite(
    const std::string& dataset, int64_t expected_version,
    const std::function<std::string(int64_t)>& encode_suite) {
  return pool_->WithTransaction(
      {"kUpdateSuite"}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<int64_t> {
        pqxx::result r = tx.exec_params(
            "SELECT suite_version FROM datasets WHERE name = $1 FOR UPDATE", dataset);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("dataset \"", dataset, "\" not found"));
        }
        int64_t current = r[0][0].as<int64_t>();
        if (expected_version > 0 && expected_version != current) {
          return absl::AbortedError(absl::StrCat("expected suite version ", expected_version,
                                                 ", current is ", current));
        }
        int64_t next = current + 1;
        tx.exec_params("INSERT INTO expectation_suites (dataset, version, suite) VALUES ($1, $2, $3)",
                       dataset, next, pqxx::binarystring(encode_suite(next)));
        tx.exec_params(
            "UPDATE datasets SET suite_version = $2, "
            "updated_at_micros = (extract(epoch from clock_timestamp()) * 1000000)::bigint "
            "WHERE name = $1",
            dataset, next);
        return next;
      });
}

absl::StatusOr<std::string> PgIngestionStore::GetSuite(const std::string& dataset,
                                                       int64_t version) {
  return pool_->WithTransaction(
      {"kGetSuite", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::string> {
        pqxx::result r = tx.exec_params(
            "SELECT suite FROM expectation_suites WHERE dataset = $1 AND version = $2", dataset,
            version);
        if (r.empty()) return absl::NotFoundError("no such expectation suite version");
        return Bytes(r[0][0]);
      });
}

absl::StatusOr<VersionRecord> PgIngestionStore::GetVersion(const std::string& id,
                                                           bool with_blobs) {
  return pool_->WithTransaction(
      {"kGetVersion", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<VersionRecord> {
        pqxx::result r = tx.exec_params(VersionSelect(with_blobs) + "WHERE id = $1", id);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("version ", id, " not found"));
        return ToVersion(r[0], with_blobs);
      });
}

absl::StatusOr<std::vector<VersionRecord>> PgIngestionStore::ListVersions(
    const std::string& dataset, bool oldest_first, int64_t after_sequence, int limit) {
  return pool_->WithTransaction(
      {"kListVersions", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<VersionRecord>> {
        std::string sql = VersionSelect(false) + "WHERE dataset = $1 ";
        if (oldest_first) {
          sql += "AND sequence > $2 ORDER BY sequence ASC LIMIT $3";
        } else {
          sql += "AND ($2 = 0 OR sequence < $2) ORDER BY sequence DESC LIMIT $3";
        }
        pqxx::result r = tx.exec_params(sql, dataset, after_sequence, limit);
        std::vector<VersionRecord> out;
        for (const auto& row : r) out.push_back(ToVersion(row, false));
        return out;
      });
}

absl::StatusOr<std::vector<VersionRecord>> PgIngestionStore::VersionsAfter(
    const std::string& dataset, int64_t after_sequence, int limit) {
  return pool_->WithTransaction(
      {"kVersionsAfter", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<VersionRecord>> {
        pqxx::result r = tx.exec_params(
            VersionSelect(false) +
                "WHERE dataset = $1 AND sequence > $2 ORDER BY sequence ASC LIMIT $3",
            dataset, after_sequence, limit);
        std::vector<VersionRecord> out;
        for (const auto& row : r) out.push_back(ToVersion(row, false));
        return out;
      });
}

absl::StatusOr<std::vector<ChunkRef>> PgIngestionStore::ListChunks(const std::string& version_id) {
  return pool_->WithTransaction(
      {"kListChunks", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::vector<ChunkRef>> {
        pqxx::result r = tx.exec_params(
            "SELECT first_row, row_count, chunk_id FROM version_chunks WHERE version_id = $1 "
            "ORDER BY ordinal",
            version_id);
        std::vector<ChunkRef> out;
        out.reserve(r.size());
        for (const auto& row : r) {
          out.push_back({row[0].as<int64_t>(), row[1].as<int32_t>(), row[2].as<std::string>()});
        }
        return out;
      });
}

absl::StatusOr<std::string> PgIngestionStore::ReadChunk(const std::string& chunk_id) {
  return pool_->WithTransaction(
      {"kReadChunk", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::string> {
        pqxx::result r = tx.exec_params("SELECT rows FROM chunks WHERE id = $1", chunk_id);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("chunk ", chunk_id, " not found"));
        return Bytes(r[0][0]);
      });
}

absl::Status PgIngestionStore::ForEachChunk(
    const std::string& version_id, int64_t begin_row, int64_t end_row,
    const std::function<absl::Status(const ChunkRef&, std::string_view)>& fn) {
  // Chunks come a few at a time, each batch in its own short read-only
  // transaction, through a BINARY cursor (the bytea arrives as its raw bytes,
  // no hex text to unescape). The callable runs between batches holding no
  // connection, so a slow reader never keeps a pooled connection from the
  // writers, and memory stays at one batch however large the version. A
  // version is immutable, so the batches need no common snapshot.
  constexpr int kChunksPerBatch = 8;
  int64_t after_ordinal = -1;
  for (;;) {
    absl::StatusOr<pqxx::result> batch = pool_->WithTransaction(
        {"kReadChunks", PgIsolation::kReadCommitted, true},
        [&](pqxx::transaction_base& tx) -> absl::StatusOr<pqxx::result> {
          tx.exec(absl::StrCat(
              "DECLARE read_chunks BINARY NO SCROLL CURSOR FOR "
              "SELECT vc.ordinal, vc.first_row, vc.row_count, c.rows FROM version_chunks vc "
              "JOIN chunks c ON c.id = vc.chunk_id WHERE vc.version_id = ",
              tx.quote(version_id), " AND vc.first_row + vc.row_count > ", begin_row,
              " AND vc.first_row < ", end_row, " AND vc.ordinal > ", after_ordinal,
              " ORDER BY vc.ordinal LIMIT ", kChunksPerBatch));
          return tx.exec("FETCH ALL FROM read_chunks");
        });
    if (!batch.ok()) return batch.status();
    // The result owns its bytes: it outlives the transaction and connection.
    for (const auto& row : *batch) {
      if (row[0].size() != 4 || row[1].size() != 8 || row[2].size() != 4 || row[3].is_null()) {
        return absl::InternalError("chunk listing has an unexpected binary form");
      }
      after_ordinal = static_cast<int32_t>(BigEndian(row[0].c_str(), 4));
      ChunkRef ref;
      ref.first_row = static_cast<int64_t>(BigEndian(row[1].c_str(), 8));
      ref.row_count = static_cast<int32_t>(BigEndian(row[2].c_str(), 4));
      MLOPS_RETURN_IF_ERROR(fn(ref, std::string_view(row[3].c_str(), row[3].size())));
    }
    if (batch->size() < static_cast<size_t>(kChunksPerBatch)) return absl::OkStatus();
  }
}

absl::StatusOr<CommitOutcome> CommitInTransaction(
    pqxx::transaction_base& tx, const std::string& dataset, const std::string& idempotency_key,
    const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
        const std::optional<VersionRecord>& head)>& prepare,
    const OwnChunkWriter& write_own_chunks) {
  pqxx::result d = tx.exec_params(
      "SELECT head_version_id, head_sequence FROM datasets WHERE name = $1 FOR UPDATE", dataset);
  if (d.empty()) return absl::NotFoundError(absl::StrCat("dataset \"", dataset, "\" not found"));
  CommitOutcome out;
  if (!idempotency_key.empty()) {
    pqxx::result r = tx.exec_params(
        VersionSelect(true) + "WHERE dataset = $1 AND idempotency_key = $2", dataset,
        idempotency_key);
    if (!r.empty()) {
      out.replayed = true;
      out.version = ToVersion(r[0], true);
      return out;
    }
  }
  std::string head_id = d[0][0].as<std::string>();
  int64_t head_sequence = d[0][1].as<int64_t>();
  std::optional<VersionRecord> head;
  if (!head_id.empty()) {
    pqxx::result r = tx.exec_params(VersionSelect(true) + "WHERE id = $1", head_id);
    if (r.empty()) return absl::InternalError("dataset head version is missing");
    head = ToVersion(r[0], true);
  }
  MLOPS_ASSIGN_OR_RETURN(std::optional<PreparedVersion> prepared, prepare(head));
  if (!prepared.has_value()) return out;
  VersionRecord v = prepared->version;
  v.sequence = head_sequence + 1;
  // The batch's own chunks, as "<version id>/<n>".
  MLOPS_ASSIGN_OR_RETURN(std::vector<int32_t> row_counts, write_own_chunks(tx, *prepared, v.id));
  tx.exec_params(
      "INSERT INTO dataset_versions (id, dataset, sequence, parent_id, mode, row_count, "
      "batch_row_count, principal, source, created_at_micros, suite_version, idempotency_key, "
      "content_digest, record, report, profile, batch_profile) VALUES ($1, $2, $3, $4, $5, $6, "
      "$7, $8, $9, $10, $11, NULLIF($12, ''), $13, $14, $15, $16, $17)",
      v.id, v.dataset, v.sequence, v.parent_id, v.mode, v.row_count, v.batch_row_count,
      v.principal, v.source, v.created_at_micros, v.suite_version, v.idempotency_key,
      v.content_digest, pqxx::binarystring(v.record), pqxx::binarystring(v.report),
      pqxx::binarystring(v.profile), pqxx::binarystring(v.batch_profile));
  int32_t ordinal = 0;
  int64_t first_row = 0;
  if (v.mode == 0 && !v.parent_id.empty()) {
    pqxx::result r = tx.exec_params(
        "INSERT INTO version_chunks (version_id, ordinal, first_row, row_count, chunk_id) "
        "SELECT $1, ordinal, first_row, row_count, chunk_id FROM version_chunks "
        "WHERE version_id = $2 RETURNING row_count",
        v.id, v.parent_id);
    ordinal = static_cast<int32_t>(r.size());
    for (const auto& row : r) first_row += row[0].as<int64_t>();
  }
  {
    pqxx::stream_to copy(tx, "version_chunks",
                         std::vector<std::string>{"version_id", "ordinal", "first_row",
                                                  "row_count", "chunk_id"});
    for (size_t i = 0; i < row_counts.size(); ++i) {
      copy << std::make_tuple(v.id, ordinal++, first_row, row_counts[i],
                              absl::StrCat(v.id, "/", i));
      first_row += row_counts[i];
    }
    copy.complete();
  }
  if (first_row != v.row_count) {
    return absl::InternalError(absl::StrCat("version ", v.id, " would list ", first_row,
                                            " rows, expected ", v.row_count));
  }
  tx.exec_params(
      "UPDATE datasets SET head_version_id = $2, head_sequence = $3, head_row_count = $4, "
      "updated_at_micros = $5 WHERE name = $1",
      dataset, v.id, v.sequence, v.row_count, v.created_at_micros);
  if (!prepared->progress.source.empty()) {
    MLOPS_RETURN_IF_ERROR(WriteSourceProgress(tx, prepared->progress, v.id, v.created_at_micros));
  }
  out.written = true;
  out.version = std::move(v);
  return out;
}

absl::StatusOr<CommitOutcome> PgIngestionStore::CommitVersion(
    const std::string& dataset, const std::string& idempotency_key,
    const std::function<absl::StatusOr<std::optional<PreparedVersion>>(
        const std::optional<VersionRecord>& head)>& prepare) {
  PgCallOptions call{"kCommitVersion"};
  call.statement_timeout = absl::InfiniteDuration();
  // The batch's chunks, by binary COPY from the session's spill.
  auto copy_chunks = [](pqxx::transaction_base& tx, const PreparedVersion& prepared,
                        const std::string& id) -> absl::StatusOr<std::vector<int32_t>> {
    std::vector<int32_t> row_counts;
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ChunkCopy> copy, ChunkCopy::Start(tx));
    MLOPS_RETURN_IF_ERROR(prepared.chunks([&](const ChunkData& c) {
      MLOPS_RETURN_IF_ERROR(copy->Write(absl::StrCat(id, "/", row_counts.size()), c.row_count, c.rows));
      row_counts.push_back(c.row_count);
      return absl::OkStatus();
    }));
    MLOPS_RETURN_IF_ERROR(copy->Complete());
    return row_counts;
  };
  return pool_->WithTransaction(call, [&](pqxx::transaction_base& tx) {
    return CommitInTransaction(tx, dataset, idempotency_key, prepare, copy_chunks);
  });
}

std::unique_ptr<ChunkStaging> PgIngestionStore::StartStaging() {
  return PgChunkStaging::Start(pool_, &live_stagings_);
}

}  // namespace mlops::ingestion
