// PgTrackingStore (pg_tracking_store.h): artifacts.
#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/training/pg_tracking_internal.h"
#include "services/training/pg_tracking_store.h"

namespace mlops::training {
namespace {

using pg_tracking_internal::ArtifactFromRow;
using pg_tracking_internal::kSelectArtifactsOf;
using pg_tracking_internal::kRunExists;
using pg_tracking_internal::LockRunShared;
using pg_tracking_internal::RunNotFound;

constexpr char kSelectArtifactAt[] =
    "SELECT run_id, path, sha256, size_bytes, content_type, created_at_micros FROM artifact "
    "WHERE run_id = $1 AND path = $2";
constexpr char kSelectArtifactBySha[] =
    "SELECT run_id, path, sha256, size_bytes, content_type, created_at_micros FROM artifact "
    "WHERE sha256 = $1 ORDER BY created_at_micros, run_id, path LIMIT 1";
constexpr char kInsertBlob[] =
    "INSERT INTO blob (sha256, size_bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING "
    "RETURNING sha256";
constexpr char kInsertChunk[] =
    "INSERT INTO blob_chunk (sha256, chunk_index, data) VALUES ($1, $2, $3)";
constexpr char kInsertArtifact[] =
    "INSERT INTO artifact (run_id, path, sha256, size_bytes, content_type, created_at_micros) "
    "VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kSelectChunk[] =
    "SELECT data FROM blob_chunk WHERE sha256 = $1 AND chunk_index = $2";

}  // namespace

absl::StatusOr<ArtifactRef> PgTrackingStore::PutArtifact(const ArtifactRef& ref,
                                                         const std::string& content) {
  PgCallOptions call{"kInsertArtifact"};
  call.statement_timeout = absl::Minutes(10);
  return pool_->WithTransaction(call, [&](pqxx::transaction_base& tx) -> absl::StatusOr<ArtifactRef> {
    MLOPS_RETURN_IF_ERROR(LockRunShared(tx, ref.run_id, /*need_running=*/false));
    pqxx::result at = tx.exec_params(kSelectArtifactAt, ref.run_id, ref.path);
    if (!at.empty()) {
      ArtifactRef existing = ArtifactFromRow(at[0]);
      if (existing.sha256 == ref.sha256) return existing;
      return absl::AlreadyExistsError(absl::StrCat("path \"", ref.path, "\" of run ", ref.run_id,
                                                   " holds different content"));
    }
    if (!tx.exec_params(kInsertBlob, ref.sha256, ref.size_bytes).empty()) {
      for (int64_t off = 0, i = 0; off < static_cast<int64_t>(content.size());
           off += kArtifactChunkBytes, ++i) {
        size_t n = std::min<size_t>(kArtifactChunkBytes, content.size() - off);
        tx.exec_params(kInsertChunk, ref.sha256, static_cast<int>(i),
                       pqxx::binarystring(content.data() + off, n));
      }
    }
    tx.exec_params(kInsertArtifact, ref.run_id, ref.path, ref.sha256, ref.size_bytes,
                   ref.content_type, ref.created_at_micros);
    return ref;
  });
}

absl::StatusOr<std::vector<ArtifactRef>> PgTrackingStore::ListArtifacts(const std::string& run_id) {
  return pool_->WithTransaction(
      {"kSelectArtifactsOf", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) {
        std::vector<ArtifactRef> out;
        for (const pqxx::row& row : tx.exec_params(kSelectArtifactsOf, PgTextArray({run_id}))) {
          out.push_back(ArtifactFromRow(row));
        }
        return out;
      });
}

absl::StatusOr<ArtifactRef> PgTrackingStore::FindArtifact(const std::string& sha256,
                                                          const std::string& run_id,
                                                          const std::string& path) {
  return pool_->WithTransaction(
      {"kSelectArtifact", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<ArtifactRef> {
        pqxx::result r = path.empty() ? tx.exec_params(kSelectArtifactBySha, sha256)
                                      : tx.exec_params(kSelectArtifactAt, run_id, path);
        if (r.empty()) {
          if (!path.empty() && tx.exec_params(kRunExists, run_id).empty()) return RunNotFound(run_id);
          return absl::NotFoundError(
              path.empty() ? absl::StrCat("no artifact with sha256 ", sha256)
                           : absl::StrCat("run ", run_id, " has no artifact \"", path, "\""));
        }
        return ArtifactFromRow(r[0]);
      });
}

absl::StatusOr<std::string> PgTrackingStore::ReadBlobChunk(const std::string& sha256,
                                                           int chunk_index) {
  return pool_->WithConnection(
      {"kSelectChunk"}, [&](pqxx::connection_base& conn) -> absl::StatusOr<std::string> {
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_params(kSelectChunk, sha256, chunk_index);
        if (r.empty()) {
          return absl::NotFoundError(absl::StrCat("blob ", sha256, " has no chunk ", chunk_index));
        }
        return pqxx::binarystring(r[0][0]).str();
      });
}

}  // namespace mlops::training
