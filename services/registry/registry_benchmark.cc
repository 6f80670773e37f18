// registry_benchmark: prints figures for issue 6's benchmarks (not a test).
//   registry_benchmark                       in-memory audit-chain verification
//   scripts/with-pg.sh registry_benchmark    + Postgres figures (fresh database)
// Flags are positional and optional: <versions for the list benchmark, default
// 20000> <audit entries for the in-memory verify, default 1000000>.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/audit_chain.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"

namespace mlops::registry {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void VerifyInMemory(int n) {
  std::vector<AuditEntry> entries(n);
  std::string prev = kGenesisHash;
  for (int i = 0; i < n; ++i) {
    AuditEntry& e = entries[i];
    e.sequence = i + 1;
    e.at_micros = 1700000000000000 + i;
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
  const auto start = Clock::now();
  AuditChainVerifier v(kGenesisHash, 0);
  for (const AuditEntry& e : entries) v.Feed(e);
  const auto end = Clock::now();
  std::printf("verify_audit_chain_in_memory entries=%d ok=%d seconds=%.3f\n", n, v.result().ok,
              Seconds(start, end));
}

int PgBenchmarks(const std::string& admin_dsn, int versions) {
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
  Registry registry(&store, nullptr, RegistryOptions{});
  const Principal who{"bench", Role::kAdmin};

  // RegisterModelVersion with 10 MB artifacts (distinct bytes: no dedup).
  constexpr int kBig = 5;
  constexpr size_t kBytes = 10 << 20;
  auto start = Clock::now();
  for (int i = 0; i < kBig; ++i) {
    NewVersion nv;
    nv.record.model = "big";
    nv.create_model_if_missing = true;
    nv.artifact_bytes.assign(kBytes, static_cast<char>('a' + i));
    nv.record.artifact_sha256 = Sha256Hex(nv.artifact_bytes);
    nv.record.artifact_size = static_cast<int64_t>(kBytes);
    if (!registry.RegisterVersion(who, std::move(nv)).ok()) return 1;
  }
  auto end = Clock::now();
  std::printf("register_10mb artifacts=%d mb_per_s=%.1f\n", kBig,
              kBig * 10.0 / Seconds(start, end));

  // ListModelVersions with filters over `versions` versions (10 models).
  NewVersion seed;
  seed.create_model_if_missing = true;
  seed.artifact_bytes = "shared";
  seed.record.artifact_sha256 = Sha256Hex(seed.artifact_bytes);
  seed.record.artifact_size = 6;
  start = Clock::now();
  for (int i = 0; i < versions; ++i) {
    NewVersion nv = seed;
    nv.record.model = "m" + std::to_string(i % 10);
    nv.record.run_id = "run-" + std::to_string(i % 1000);
    nv.record.tags = {{"team", i % 2 == 0 ? "a" : "b"}};
    if (!registry.RegisterVersion(who, std::move(nv)).ok()) return 1;
  }
  end = Clock::now();
  std::printf("seed_versions n=%d per_s=%.0f\n", versions, versions / Seconds(start, end));
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    VersionFilter f;
    f.model = "m" + std::to_string(i % 10);
    f.tags = {{"team", "a"}};
    f.limit = 100;
    auto s = Clock::now();
    if (!registry.ListVersions(f).ok()) return 1;
    micros.push_back(Seconds(s, Clock::now()) * 1e6);
  }
  std::sort(micros.begin(), micros.end());
  std::printf("list_versions_model_tag_filter versions=%d p50_us=%.0f p99_us=%.0f\n", versions,
              micros[micros.size() / 2], micros[micros.size() * 99 / 100]);

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
  const int versions = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int entries = argc > 2 ? std::atoi(argv[2]) : 1000000;
  mlops::registry::VerifyInMemory(entries);
  const char* dsn = std::getenv("MLOPS_TEST_PG_DSN");
  if (dsn == nullptr) {
    std::printf("MLOPS_TEST_PG_DSN unset: Postgres benchmarks skipped\n");
    return 0;
  }
  return mlops::registry::PgBenchmarks(dsn, versions);
}
