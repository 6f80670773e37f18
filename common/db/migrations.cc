#include "common/db/migrations.h"

#include <openssl/evp.h>

#include <pqxx/pqxx>

#include <cstdint>
#include <map>
#include <string>

#include "common/db/pg_conninfo.h"
#include "common/db/pg_status.h"
#include "common/status/status_macros.h"

namespace mlops {
namespace {

// Schema names are validated identifiers, so quoting is plain.
std::string Quoted(const std::string& schema) { return "\"" + schema + "\""; }

std::string Sha256Hex(const std::string& data, unsigned char (&digest)[EVP_MAX_MD_SIZE]) {
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// pg_advisory_xact_lock key: the first 8 bytes of sha256("mlops.migrations:" + schema).
int64_t LockKey(const std::string& schema) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  Sha256Hex("mlops.migrations:" + schema, digest);
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | digest[i];
  return static_cast<int64_t>(key);
}

absl::Status ChecksumMismatch(const std::string& schema, const Migration& m,
                              const std::string& applied_checksum) {
  return absl::FailedPreconditionError(
      "migration " + m.name + " (version " + std::to_string(m.version) +
      ") was changed after it was applied to schema " + schema + ": recorded checksum " +
      applied_checksum + ", file checksum " + MigrationChecksum(m.sql) +
      "; add a new migration instead of editing an applied one");
}

// version -> checksum of every applied migration.
using AppliedMap = std::map<int, std::string>;

AppliedMap ReadApplied(pqxx::transaction_base& tx, const std::string& schema) {
  AppliedMap applied;
  const pqxx::result rows =
      tx.exec("SELECT version, checksum FROM " + Quoted(schema) + ".schema_migrations");
  for (const auto& row : rows) applied[row[0].as<int>()] = row[1].as<std::string>();
  return applied;
}

// OK when every migration of the list that is applied has the same checksum.
absl::Status CheckChecksums(const std::string& schema, const std::vector<Migration>& migrations,
                            const AppliedMap& applied) {
  for (const Migration& m : migrations) {
    auto it = applied.find(m.version);
    if (it != applied.end() && it->second != MigrationChecksum(m.sql)) {
      return ChecksumMismatch(schema, m, it->second);
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSchema(const std::string& schema) {
  if (!IsValidPgIdentifier(schema)) {
    return absl::InvalidArgumentError("migrations: schema \"" + schema +
                                      "\" is not a name [a-z][a-z0-9_]{0,62}");
  }
  return absl::OkStatus();
}

constexpr char kLock[] = "SELECT pg_advisory_xact_lock($1::bigint)";

}  // namespace

std::string MigrationChecksum(const std::string& sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  return Sha256Hex(sql, digest);
}

absl::Status ValidateMigrations(const std::vector<Migration>& migrations) {
  int previous = 0;
  for (size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    const std::string where = "migration #" + std::to_string(i) + " (" + m.name + ")";
    if (m.name.empty()) return absl::InvalidArgumentError(where + ": empty name");
    if (m.version <= previous) {
      return absl::InvalidArgumentError(where + ": version " + std::to_string(m.version) +
                                        " must be > " + std::to_string(previous) +
                                        " (versions strictly increasing, from 1)");
    }
    if (m.sql.find_first_not_of(" \t\r\n") == std::string::npos) {
      return absl::InvalidArgumentError(where + ": empty SQL");
    }
    previous = m.version;
  }
  return absl::OkStatus();
}

absl::StatusOr<MigrationReport> RunMigrations(PgPool& pool, const std::string& schema,
                                              const std::vector<Migration>& migrations,
                                              const MigrationOptions& options) {
  MLOPS_RETURN_IF_ERROR(ValidateSchema(schema));
  MLOPS_RETURN_IF_ERROR(ValidateMigrations(migrations));
  const int64_t key = LockKey(schema);
  const std::string table = Quoted(schema) + ".schema_migrations";
  PgCallOptions call;
  call.name = "run_migrations";
  call.statement_timeout = options.statement_timeout;

  // Schema and bookkeeping table; then what is applied already.
  MLOPS_ASSIGN_OR_RETURN(
      AppliedMap applied,
      pool.WithTransaction(call, [&](pqxx::transaction_base& tx) {
        tx.exec_params(kLock, key);
        tx.exec("CREATE SCHEMA IF NOT EXISTS " + Quoted(schema));
        tx.exec("CREATE TABLE IF NOT EXISTS " + table +
                " (version integer PRIMARY KEY,"
                "  name text NOT NULL,"
                "  checksum text NOT NULL,"
                "  applied_at timestamptz NOT NULL DEFAULT now())");
        return ReadApplied(tx, schema);
      }));
  MLOPS_RETURN_IF_ERROR(CheckChecksums(schema, migrations, applied));

  MigrationReport report;
  for (const Migration& m : migrations) {
    if (applied.count(m.version)) continue;
    // Another runner may have applied it since: look again under the lock.
    MLOPS_ASSIGN_OR_RETURN(
        bool applied_now,
        pool.WithTransaction(call, [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
          tx.exec_params(kLock, key);
          const pqxx::result row = tx.exec_params(
              "SELECT checksum FROM " + table + " WHERE version = $1", m.version);
          if (!row.empty()) {
            const std::string checksum = row[0][0].as<std::string>();
            if (checksum != MigrationChecksum(m.sql)) {
              return ChecksumMismatch(schema, m, checksum);
            }
            return false;
          }
          tx.exec("SET LOCAL search_path TO " + Quoted(schema) + ", public");
          try {
            tx.exec(m.sql);
          } catch (const std::exception& e) {
            const absl::Status s = PgExceptionToStatus(e);
            return absl::Status(s.code(), "migration " + m.name + " failed in schema " +
                                              schema + ": " + std::string(s.message()));
          }
          tx.exec_params("INSERT INTO " + table +
                             " (version, name, checksum) VALUES ($1, $2, $3)",
                         m.version, m.name, MigrationChecksum(m.sql));
          return true;
        }));
    if (applied_now) report.applied.push_back(m.version);
  }

  PgCallOptions read = call;
  read.read_only = true;
  MLOPS_ASSIGN_OR_RETURN(report.latest_version,
                         pool.WithTransaction(read, [&](pqxx::transaction_base& tx) {
                           return tx.exec("SELECT coalesce(max(version), 0) FROM " + table)[0][0]
                               .as<int>();
                         }));
  return report;
}

absl::Status VerifyMigrations(PgPool& pool, const std::string& schema,
                              const std::vector<Migration>& migrations) {
  MLOPS_RETURN_IF_ERROR(ValidateSchema(schema));
  MLOPS_RETURN_IF_ERROR(ValidateMigrations(migrations));
  PgCallOptions call;
  call.name = "verify_migrations";
  call.read_only = true;
  return pool.WithTransaction(call, [&](pqxx::transaction_base& tx) -> absl::Status {
    const pqxx::result exists = tx.exec_params(
        "SELECT to_regclass($1) IS NOT NULL", Quoted(schema) + ".schema_migrations");
    if (!exists[0][0].as<bool>()) {
      return absl::FailedPreconditionError("schema " + schema + " is not migrated yet");
    }
    const AppliedMap applied = ReadApplied(tx, schema);
    MLOPS_RETURN_IF_ERROR(CheckChecksums(schema, migrations, applied));
    for (const Migration& m : migrations) {
      if (!applied.count(m.version)) {
        return absl::FailedPreconditionError("schema " + schema + ": migration " + m.name +
                                             " is not applied yet");
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace mlops
