#include "services/registry/pg_artifact_store.h"

#include <chrono>
#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/audit_chain.h"
#include "services/registry/pg_registry_internal.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kInsertArtifact[] =
    "INSERT INTO artifacts (sha256, size_bytes, data, created_at_micros) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO UPDATE SET data = EXCLUDED.data, "
    "size_bytes = EXCLUDED.size_bytes "
    // Deduplicated; only a damaged stored copy is replaced by the verified one.
    "WHERE sha256(artifacts.data) <> decode(artifacts.sha256, 'hex')";
constexpr char kStatArtifact[] = "SELECT size_bytes FROM artifacts WHERE sha256 = $1";
constexpr char kSelectArtifact[] = "SELECT data FROM artifacts WHERE sha256 = $1";

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Buffers the upload; Commit inserts it in one transaction.
class PgArtifactWriter final : public ArtifactWriter {
 public:
  PgArtifactWriter(PgPool* pool, int64_t now, UploadCheck check)
      : pool_(pool), now_(now), check_(std::move(check)) {}

  absl::Status Append(std::string_view chunk) override {
    MLOPS_RETURN_IF_ERROR(check_.Append(chunk));
    bytes_.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  }

  absl::StatusOr<StoredArtifact> Commit() override {
    MLOPS_RETURN_IF_ERROR(check_.Finish());
    StoredArtifact out{check_.sha256(), static_cast<int64_t>(bytes_.size())};
    MLOPS_RETURN_IF_ERROR(pool_->WithTransaction(
        PgCallOptions{"registry_put_artifact"}, [&](Txn& txn) -> absl::Status {
          txn.exec_params(kInsertArtifact, out.sha256, out.size_bytes,
                          pqxx::binarystring(bytes_.data(), bytes_.size()), now_);
          return absl::OkStatus();
        }));
    std::string().swap(bytes_);
    return out;
  }

 private:
  PgPool* pool_;
  int64_t now_;
  UploadCheck check_;
  std::string bytes_;
};

// Serves the verified bytes of one row from memory.
class PgArtifactReader final : public ArtifactReader {
 public:
  PgArtifactReader(StoredArtifact info, std::string bytes, size_t pos)
      : info_(std::move(info)), bytes_(std::move(bytes)), pos_(pos) {}
  const StoredArtifact& info() const override { return info_; }
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    std::string out = bytes_.substr(pos_, max_bytes);
    pos_ += out.size();
    return out;
  }

 private:
  StoredArtifact info_;
  std::string bytes_;
  size_t pos_;
};

}  // namespace

PgArtifactStore::PgArtifactStore(PgPool* pool, std::function<int64_t()> now_micros)
    : pool_(pool), now_micros_(std::move(now_micros)) {
  if (!now_micros_) now_micros_ = SystemMicros;
}

absl::StatusOr<std::unique_ptr<ArtifactWriter>> PgArtifactStore::Begin(const std::string& sha256,
                                                                       int64_t size_bytes,
                                                                       int64_t max_bytes) {
  return std::make_unique<PgArtifactWriter>(pool_, now_micros_(),
                                            UploadCheck(sha256, size_bytes, max_bytes));
}

absl::StatusOr<std::optional<StoredArtifact>> PgArtifactStore::Stat(const std::string& sha256) {
  PgCallOptions call{"registry_stat_artifact"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::optional<StoredArtifact>> {
        pqxx::result r = txn.exec_params(kStatArtifact, sha256);
        if (r.empty()) return std::optional<StoredArtifact>();
        return std::optional<StoredArtifact>(StoredArtifact{sha256, r[0][0].as<int64_t>()});
      });
}

absl::StatusOr<std::unique_ptr<ArtifactReader>> PgArtifactStore::Open(const std::string& sha256,
                                                                      int64_t offset) {
  PgCallOptions call{"registry_read_artifact"};
  call.read_only = true;
  MLOPS_ASSIGN_OR_RETURN(std::string bytes,
                         pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::string> {
                           pqxx::result r = txn.exec_params(kSelectArtifact, sha256);
                           if (r.empty()) {
                             return absl::NotFoundError(
                                 absl::StrCat("artifact ", sha256, " not found"));
                           }
                           return pg_registry::Bytes(r[0][0]);
                         }));
  if (Sha256Hex(bytes) != sha256) {
    return absl::DataLossError(absl::StrCat("stored artifact ", sha256, " no longer hashes to it"));
  }
  if (offset < 0 || offset > static_cast<int64_t>(bytes.size())) {
    return absl::InvalidArgumentError(absl::StrCat("offset: ", offset, " is past the artifact's ",
                                                   bytes.size(), " bytes"));
  }
  StoredArtifact info{sha256, static_cast<int64_t>(bytes.size())};
  return std::make_unique<PgArtifactReader>(std::move(info), std::move(bytes),
                                            static_cast<size_t>(offset));
}

}  // namespace mlops::registry
