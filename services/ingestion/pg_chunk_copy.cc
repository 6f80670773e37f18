#include "services/ingestion/pg_chunk_copy.h"

#include <libpq-fe.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/db/pg_status.h"

namespace mlops::ingestion {
namespace {

// pqxx::largeobject exposes its transaction's PGconn to subclasses: the one
// sanctioned way to reach libpq from a pqxx 6.4 transaction.
class RawConnection : private pqxx::largeobject {
 public:
  static PGconn* Of(const pqxx::dbtransaction& tx) { return largeobject::raw_connection(tx); }
};

// The binary COPY header: signature, flags, header extension length.
constexpr char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
constexpr size_t kHeaderSize = 11 + 4 + 4;
constexpr int16_t kFields = 3;

char* PutBe16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
  return p + 2;
}

char* PutBe32(char* p, uint32_t v) {
  for (int i = 3; i >= 0; --i) *p++ = static_cast<char>(v >> (8 * i));
  return p;
}

// The server's error of `result` as a status (SQLSTATE mapped like PgTry).
// A result without a SQLSTATE on a broken connection is Unavailable.
absl::Status ResultStatus(PGresult* result, PGconn* conn) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  const absl::StatusCode code = state == nullptr && PQstatus(conn) == CONNECTION_BAD
                                    ? absl::StatusCode::kUnavailable
                                    : PgSqlStateToCode(state != nullptr ? state : "");
  return absl::Status(code,
                      absl::StrCat("kCopyChunks: ", message != nullptr ? message : "",
                                   state != nullptr ? absl::StrCat(" [SQLSTATE ", state, "]") : ""));
}

// Reads the COPY's results: the first failure, or OK.
absl::Status Drain(PGconn* conn) {
  absl::Status result = absl::OkStatus();
  while (PGresult* r = PQgetResult(conn)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && result.ok()) result = ResultStatus(r, conn);
    PQclear(r);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChunkCopy>> ChunkCopy::Start(pqxx::transaction_base& tx) {
  const auto* db = dynamic_cast<const pqxx::dbtransaction*>(&tx);
  if (db == nullptr) return absl::InternalError("binary COPY needs a backend transaction");
  PGconn* conn = RawConnection::Of(*db);
  PGresult* r = PQexec(conn, "COPY chunks (id, row_count, rows) FROM STDIN (FORMAT binary)");
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    absl::Status s = ResultStatus(r, conn);
    PQclear(r);
    return s;
  }
  PQclear(r);
  std::unique_ptr<ChunkCopy> copy(new ChunkCopy(conn));
  absl::Status s = copy->Put(kHeader, kHeaderSize);
  if (!s.ok()) return s;
  return copy;
}

ChunkCopy::~ChunkCopy() {
  if (!open_) return;
  auto* conn = static_cast<PGconn*>(conn_);
  if (PQputCopyEnd(conn, "chunk copy abandoned") == 1) Drain(conn).IgnoreError();
}

absl::Status ChunkCopy::Put(const char* data, size_t size) {
  auto* conn = static_cast<PGconn*>(conn_);
  // PQputCopyData takes an int length: large values go in pieces.
  constexpr size_t kMaxPiece = 1 << 30;
  while (size > 0) {
    const size_t n = size < kMaxPiece ? size : kMaxPiece;
    if (PQputCopyData(conn, data, static_cast<int>(n)) != 1) return Failed();
    data += n;
    size -= n;
  }
  return absl::OkStatus();
}

absl::Status ChunkCopy::Write(const std::string& id, int32_t row_count, const std::string& rows) {
  if (!open_) return absl::FailedPreconditionError("chunk copy already completed");
  if (rows.size() > 0x7fffffffu || id.size() > 0x7fffffffu) {
    return absl::InvalidArgumentError("a stored chunk must be under 2 GiB");
  }
  // Everything up to the bytea's bytes, which go out without a copy here.
  std::string head(2 + 4 + id.size() + 4 + 4 + 4, '\0');
  char* p = PutBe16(head.data(), kFields);
  p = PutBe32(p, static_cast<uint32_t>(id.size()));
  std::memcpy(p, id.data(), id.size());
  p += id.size();
  p = PutBe32(p, 4);
  p = PutBe32(p, static_cast<uint32_t>(row_count));
  PutBe32(p, static_cast<uint32_t>(rows.size()));
  absl::Status s = Put(head.data(), head.size());
  if (s.ok()) s = Put(rows.data(), rows.size());
  return s;
}

absl::Status ChunkCopy::Complete() {
  if (!open_) return absl::FailedPreconditionError("chunk copy already completed");
  char trailer[2];
  PutBe16(trailer, 0xffff);
  absl::Status s = Put(trailer, sizeof trailer);
  if (!s.ok()) return s;
  auto* conn = static_cast<PGconn*>(conn_);
  open_ = false;
  if (PQputCopyEnd(conn, nullptr) != 1) return Failed();
  return Drain(conn);
}

absl::Status ChunkCopy::Failed() {
  // The server may have ended the COPY with an error (e.g. a duplicate id):
  // its answer says why; otherwise the connection is gone.
  open_ = false;
  auto* conn = static_cast<PGconn*>(conn_);
  absl::Status s = Drain(conn);
  if (!s.ok()) return s;
  return absl::UnavailableError(absl::StrCat("kCopyChunks: ", PQerrorMessage(conn)));
}

}  // namespace mlops::ingestion
