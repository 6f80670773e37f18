// registry_benchmark: prints figures for issue 6's benchmarks (not a test).
//   registry_benchmark                       in-memory audit-chain verification
//   scripts/with-pg.sh registry_benchmark    + Postgres figures (fresh database)
// Flags are positional and optional: <versions for the list benchmark, default
// 100000> <audit entries for the verify benchmarks, default 1000000>.
// The list benchmark's versions and the audit entries are seeded by SQL
// (COPY for the audit chain, whose hashes are computed here); registration
// through the domain is measured separately on 2000 versions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/time/clock.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/audit_chain.h"
#include "services/registry/file_artifact_store.h"
#include "services/registry/pg_artifact_store.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"

namespace mlops::registry {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// `n` chained entries following (`first_sequence` - 1, `prev`).
std::vector<AuditEntry> ChainedEntries(int n, int64_t first_sequence, std::string prev) {
  std::vector<AuditEntry> entries(n);
  const int64_t now = absl::ToUnixMicros(absl::Now());
  for (int i = 0; i < n; ++i) {
    AuditEntry& e = entries[i];
    e.sequence = first_sequence + i;
    e.at_micros = now + i;
    e.principal = "alice";
    e.event_type = 6;
    e.model = "churn";
    e.version = i % 100;
    e.before_json = "{\"stage\":\"STAGING\"}";
    e.after_json = "{\"stage\":\"PRODUCTION\"}";
    e.prev_hash = prev;
    e.entry_hash = ComputeAuditHash(e);
    prev = e.entry_hash;
  }
  return entries;
}

void VerifyInMemory(int n) {
  std::vector<AuditEntry> entries = ChainedEntries(n, 1, kGenesisHash);
  const auto start = Clock::now();
  AuditChainVerifier v(kGenesisHash, 0);
  for (const AuditEntry& e : entries) v.Feed(e);
  const auto end = Clock::now();
  std::printf("verify_audit_chain_in_memory entries=%d ok=%d seconds=%.3f\n", n, v.result().ok,
              Seconds(start, end));
}

// Models b0..b9 with `n` versions in all: tag team=a|b, run ids, a "test"
// evaluation with a spread of auc and logloss values.
absl::Status SeedVersions(const std::string& dsn, int n, const std::string& artifact) {
  try {
    pqxx::connection c(dsn);
    pqxx::work txn(c);
    txn.exec("SET search_path TO registry");
    txn.exec_params(
        "INSERT INTO models (name, created_at_micros, created_by, latest_version) "
        "SELECT 'b' || i, 0, 'sql_seed', ($1 + 9 - i) / 10 FROM generate_series(0, 9) i",
        n);
    txn.exec_params(
        "INSERT INTO versions (model, version, stage, stage_changed_at_micros, "
        "artifact_sha256, artifact_size, run_id, metadata, created_at_micros, created_by) "
        "SELECT 'b' || (g % 10), g / 10 + 1, 1, 0, $2, 6, 'run-' || (g % 1000), ''::bytea, "
        "1700000000000000 + g, 'sql_seed' FROM generate_series(0, $1 - 1) g",
        n, artifact);
    txn.exec(
        "INSERT INTO version_tags (model, version, ordinal, key, value) "
        "SELECT model, version, 0, 'team', CASE WHEN version % 2 = 0 THEN 'a' ELSE 'b' END "
        "FROM versions WHERE created_by = 'sql_seed'");
    txn.exec(
        "INSERT INTO evaluations (model, version, ordinal, name, dataset_version, "
        "recorded_at_micros) SELECT model, version, 0, 'test', repeat('d', 64), "
        "created_at_micros FROM versions WHERE created_by = 'sql_seed'");
    txn.exec(
        "INSERT INTO evaluation_metrics (model, version, ordinal, metric, value) "
        "SELECT model, version, 0, 'auc', 0.5 + ((version * 7919) % 1000) / 2000.0 "
        "FROM versions WHERE created_by = 'sql_seed' UNION ALL "
        "SELECT model, version, 0, 'logloss', ((version * 104729) % 1000) / 1000.0 "
        "FROM versions WHERE created_by = 'sql_seed'");
    txn.commit();
    pqxx::nontransaction analyze(c);
    analyze.exec("ANALYZE registry.versions, registry.version_tags, registry.evaluations, "
                 "registry.evaluation_metrics, registry.latest_metrics");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

struct ListCase {
  const char* name;
  VersionFilter filter;
  bool per_model;  // cycle the model filter over b0..b9
};

std::vector<ListCase> ListCases() {
  std::vector<ListCase> cases;
  VersionFilter tag;
  tag.tags = {{"team", "a"}};
  cases.push_back({"model_and_tag", tag, true});
  VersionFilter good;
  good.metrics = {{"auc", Comparison::kGreaterOrEqual, 0.95, "test"}};
  cases.push_back({"model_and_metric_filter", good, true});
  VersionFilter best = good;
  best.order = VersionOrder::kMetricDesc;
  best.order_metric = "auc";
  cases.push_back({"model_best_auc_first", best, true});
  cases.push_back({"all_models_metric_filter_best_auc_first", best, false});
  VersionFilter staged;
  staged.stages = {Stage::kStaging, Stage::kProduction};
  cases.push_back({"all_models_staging_or_production", staged, false});
  for (ListCase& c : cases) c.filter.limit = 101;  // a page of 100 and the lookahead
  return cases;
}

// Appends `n` entries to the chain by COPY, hashed here.
absl::Status AppendAuditEntries(const std::string& dsn, int n) {
  try {
    pqxx::connection c(dsn);
    pqxx::work txn(c);
    txn.exec("SET search_path TO registry");
    pqxx::row head = txn.exec1("SELECT sequence, entry_hash FROM audit_head FOR UPDATE");
    const int64_t last = head[0].as<int64_t>();
    std::vector<AuditEntry> entries = ChainedEntries(n, last + 1, head[1].as<std::string>());
    pqxx::stream_to out(txn, "audit_log");
    for (const AuditEntry& e : entries) {
      out << std::make_tuple(e.sequence, e.at_micros, e.principal, e.event_type, e.model,
                             e.version, e.endpoint, e.request_id, e.before_json, e.after_json,
                             e.reason, e.details_json, e.prev_hash, e.entry_hash);
    }
    out.complete();
    txn.exec_params("UPDATE audit_head SET sequence = $1, entry_hash = $2 WHERE id = 1",
                    entries.back().sequence, entries.back().entry_hash);
    txn.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(e.what());
  }
}

int PgBenchmarks(const std::string& admin_dsn, int versions, int audit_entries) {
  auto db = PgTestDatabase::Create(admin_dsn, "registry_bench");
  if (!db.ok()) {
    std::fprintf(stderr, "create database: %s\n", db.status().ToString().c_str());
    return 1;
  }
  PgPoolOptions o;
  o.dsn = (*db)->dsn();
  o.search_path = "registry";
  o.statement_timeout = absl::Minutes(5);
  auto pool = PgPool::Create(o);
  if (!pool.ok() || !RunMigrations(**pool, "registry", EmbeddedMigrations()).ok()) {
    std::fprintf(stderr, "pool/migrations failed\n");
    return 1;
  }
  PgRegistryStore store(pool->get());
  PgArtifactStore artifacts(pool->get());
  Registry registry(&store, &artifacts, nullptr, RegistryOptions{});
  const Principal who{"bench", Role::kAdmin};

  // RegisterModelVersion with 10 MB artifacts (distinct bytes: no dedup),
  // into each artifact store backend.
  char file_root[] = "/tmp/registry-bench-artifacts-XXXXXX";
  if (::mkdtemp(file_root) == nullptr) return 1;
  auto files = FileArtifactStore::Create(file_root);
  if (!files.ok()) return 1;
  Registry file_registry(&store, files->get(), nullptr, RegistryOptions{});
  auto start = Clock::now();
  auto end = start;
  int round = 0;
  for (Registry* r : {&registry, &file_registry}) {
    constexpr int kBig = 5;
    constexpr size_t kBytes = 10 << 20;
    start = Clock::now();
    for (int i = 0; i < kBig; ++i, ++round) {
      NewVersion nv;
      nv.record.model = "big";
      nv.create_model_if_missing = true;
      nv.artifact_bytes.assign(kBytes, static_cast<char>('a' + round));
      nv.record.artifact_sha256 = Sha256Hex(nv.artifact_bytes);
      nv.record.artifact_size = static_cast<int64_t>(kBytes);
      if (!r->RegisterVersion(who, std::move(nv)).ok()) return 1;
    }
    end = Clock::now();
    std::printf("register_10mb store=%s artifacts=%d mb_per_s=%.1f\n",
                r == &registry ? "postgres" : "file", kBig, kBig * 10.0 / Seconds(start, end));
  }
  std::error_code ec;
  std::filesystem::remove_all(file_root, ec);

  // RegisterModelVersion through the domain (small artifacts, deduplicated).
  NewVersion seed;
  seed.create_model_if_missing = true;
  seed.artifact_bytes = "shared";
  seed.record.artifact_sha256 = Sha256Hex(seed.artifact_bytes);
  seed.record.artifact_size = 6;
  constexpr int kRegistered = 2000;
  start = Clock::now();
  for (int i = 0; i < kRegistered; ++i) {
    NewVersion nv = seed;
    nv.record.model = "m" + std::to_string(i % 10);
    nv.record.run_id = "run-" + std::to_string(i % 1000);
    nv.record.tags = {{"team", i % 2 == 0 ? "a" : "b"}};
    if (!registry.RegisterVersion(who, std::move(nv)).ok()) return 1;
  }
  end = Clock::now();
  std::printf("register_small n=%d per_s=%.0f\n", kRegistered,
              kRegistered / Seconds(start, end));

  // ListModelVersions over `versions` more versions, seeded by SQL.
  start = Clock::now();
  if (absl::Status s = SeedVersions((*db)->dsn(), versions, seed.record.artifact_sha256);
      !s.ok()) {
    std::fprintf(stderr, "seed: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("seed_versions_sql n=%d seconds=%.1f\n", versions, Seconds(start, Clock::now()));
  for (const ListCase& c : ListCases()) {
    std::vector<double> micros;
    for (int i = 0; i < 200; ++i) {
      VersionFilter f = c.filter;
      if (c.per_model) f.model = "b" + std::to_string(i % 10);
      auto s = Clock::now();
      if (!registry.ListVersions(f).ok()) return 1;
      micros.push_back(Seconds(s, Clock::now()) * 1e6);
    }
    std::sort(micros.begin(), micros.end());
    std::printf("list_versions case=%s versions=%d p50_us=%.0f p99_us=%.0f\n", c.name,
                versions + kRegistered, micros[micros.size() / 2],
                micros[micros.size() * 99 / 100]);
  }

  if (audit_entries > 0) {
    start = Clock::now();
    if (absl::Status s = AppendAuditEntries((*db)->dsn(), audit_entries); !s.ok()) {
      std::fprintf(stderr, "audit seed: %s\n", s.ToString().c_str());
      return 1;
    }
    std::printf("seed_audit_entries n=%d seconds=%.1f\n", audit_entries,
                Seconds(start, Clock::now()));
  }

  start = Clock::now();
  auto verified = registry.VerifyAudit(0, 0);
  end = Clock::now();
  if (!verified.ok()) return 1;
  std::printf("verify_audit_log_pg entries=%lld ok=%d seconds=%.3f\n",
              static_cast<long long>(verified->entries_checked), verified->ok,
              Seconds(start, end));
  return 0;
}

}  // namespace
}  // namespace mlops::registry

int main(int argc, char** argv) {
  const int versions = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000000;
  mlops::registry::VerifyInMemory(entries);
  const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
  if (dsn == nullptr) {
    std::printf("MLOPS_TEST_PG_DSN unset: Postgres benchmarks skipped\n");
    return 0;
  }
  return mlops::registry::PgBenchmarks(dsn, versions, entries);
}
