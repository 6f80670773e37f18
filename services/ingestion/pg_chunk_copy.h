#pragma once
// ChunkCopy: COPY of stored row chunks (id, row_count, rows) into `chunks` in
// PostgreSQL's binary COPY format. The bytea travels as raw bytes: no hex
// encoding here and no hex decoding in the server, half the bytes on the
// wire. pqxx 6.4 only offers text COPY, so this speaks libpq on the
// transaction's own connection (within its transaction). Internal to the
// Postgres store; include it from pg_*.cc only.
// Not thread-safe; lives inside one transaction, which must not run other
// statements between Start and Complete.
#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mlops::ingestion {

class ChunkCopy {
 public:
  // Starts `COPY chunks (id, row_count, rows) FROM STDIN (FORMAT binary)` in
  // `tx` (a pqxx::dbtransaction). Internal when it cannot.
  static absl::StatusOr<std::unique_ptr<ChunkCopy>> Start(pqxx::transaction_base& tx);
  // Ends a COPY that was not completed with an error: the transaction is then
  // failed and must be rolled back.
  ~ChunkCopy();
  ChunkCopy(const ChunkCopy&) = delete;
  ChunkCopy& operator=(const ChunkCopy&) = delete;

  // One chunk row. The server's error (mapped as by PgTry) when it has
  // ended the COPY already; Unavailable when the connection fails.
  absl::Status Write(const std::string& id, int32_t row_count, const std::string& rows);
  // Sends the trailer and waits for the server's answer (its error, mapped as
  // by PgTry, when the COPY fails, e.g. on a duplicate id).
  absl::Status Complete();

 private:
  explicit ChunkCopy(void* conn) : conn_(conn) {}
  absl::Status Put(const char* data, size_t size);
  absl::Status Failed();  // after libpq refused data or the end of the COPY

  void* conn_;  // PGconn, owned by the transaction's connection
  bool open_ = true;
};

}  // namespace mlops::ingestion
