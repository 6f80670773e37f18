#pragma once
// Versioned schema migrations per service schema (issue 2, item 5).
//
// Each service keeps `services/<name>/migrations/NNNN_<what>.sql`; CMake's
// mlops_embed_migrations(<target> <schema> <dir>) (common/db/EmbedMigrations.cmake)
// compiles them into the binary, and main runs them before serving:
//
//   #include "mlops_migrations/registry_migrations.h"   // generated
//   MLOPS_ASSIGN_OR_RETURN(MigrationReport report,
//       RunMigrations(*pool, "registry", registry::EmbeddedMigrations()));
//
// SQL in a migration is written without a schema prefix: it runs with
// `search_path = "<schema>", public`, so tables land in the service schema.
// A file may hold several statements. Never edit an applied migration: add one.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/pg_pool.h"

namespace mlops {

struct Migration {
  int version = 0;   // NNNN of the file name; > 0, strictly increasing in a list
  std::string name;  // the file name, e.g. "0003_add_run_index.sql"
  std::string sql;
};

struct MigrationOptions {
  // statement_timeout of each migration transaction (index builds can be slow).
  absl::Duration statement_timeout = absl::Minutes(10);
};

struct MigrationReport {
  std::vector<int> applied;  // versions applied by this run, in order
  int latest_version = 0;    // highest version recorded in the schema now
};

// Lowercase hex sha256 of the SQL text: what schema_migrations.checksum holds.
std::string MigrationChecksum(const std::string& sql);

// Checks a list: versions > 0 and strictly increasing, names non-empty, SQL
// non-empty. InvalidArgument naming the offending entry.
absl::Status ValidateMigrations(const std::vector<Migration>& migrations);

// Brings `schema` up to date. Creates the schema and
// <schema>.schema_migrations(version, name, checksum, applied_at) if missing;
// then applies each pending migration in version order, each in its own
// transaction that also records it, all under pg_advisory_xact_lock(a 64-bit
// hash of the schema name), so runners started together (replicas) apply each
// migration exactly once. Errors:
//   InvalidArgument    bad schema name (must be [a-z][a-z0-9_]{0,62}) or list;
//   FailedPrecondition an applied migration's checksum differs from the list's
//                      (someone edited an applied file), naming the file;
//   the code of the Postgres error, with "migration <file> failed: <message>",
//                      when a migration fails: that migration is rolled back
//                      entirely, earlier ones stay applied;
//   Unavailable etc.   from the pool.
// Applied versions unknown to the list (a newer binary ran) are left alone.
// Idempotent: a second run applies nothing.
absl::StatusOr<MigrationReport> RunMigrations(PgPool& pool, const std::string& schema,
                                              const std::vector<Migration>& migrations,
                                              const MigrationOptions& options = {});

// Read-only check for readiness probes: OK when every migration of the list is
// applied with a matching checksum; FailedPrecondition naming the first pending
// or changed one otherwise (also when the schema does not exist yet).
absl::Status VerifyMigrations(PgPool& pool, const std::string& schema,
                              const std::vector<Migration>& migrations);

}  // namespace mlops
