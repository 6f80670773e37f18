#include "common/testing/pg_test_db.h"

#include <pqxx/pqxx>

#include <cstdlib>
#include <random>
#include <utility>

#include "common/db/pg_conninfo.h"
#include "common/db/pg_status.h"
#include "common/status/status_macros.h"

namespace mlops {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

std::string RandomHex(int digits) {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out.push_back(kHex[gen() % 16]);
  return out;
}

std::string DatabaseName(const std::string& prefix) {
  std::string clean = "t_";
  for (char c : prefix) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    clean.push_back(ok ? c : '_');
  }
  clean.resize(std::min<size_t>(clean.size(), 63 - 13));
  return clean + "_" + RandomHex(12);
}

// Runs one statement outside a transaction (CREATE/DROP DATABASE need that).
absl::Status ExecAdmin(const std::string& admin_dsn, const std::string& sql) {
  return PgTry("test database admin", [&] {
    pqxx::connection conn(admin_dsn);
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
  });
}

}  // namespace

std::optional<std::string> TestPgDsnFromEnv() { return Env("MLOPS_TEST_PG_DSN"); }
std::optional<std::string> TestPgDirFromEnv() { return Env("MLOPS_TEST_PG_DIR"); }

absl::StatusOr<std::unique_ptr<PgTestDatabase>> PgTestDatabase::Create(
    const std::string& admin_dsn, const std::string& prefix) {
  const std::string name = DatabaseName(prefix);
  MLOPS_ASSIGN_OR_RETURN(std::string dsn, RewriteConninfo(admin_dsn, {{"dbname", name}}));
  MLOPS_RETURN_IF_ERROR(ExecAdmin(admin_dsn, "CREATE DATABASE \"" + name + "\""));
  return std::unique_ptr<PgTestDatabase>(new PgTestDatabase(admin_dsn, name, std::move(dsn)));
}

PgTestDatabase::PgTestDatabase(std::string admin_dsn, std::string name, std::string dsn)
    : admin_dsn_(std::move(admin_dsn)), name_(std::move(name)), dsn_(std::move(dsn)) {}

PgTestDatabase::~PgTestDatabase() {
  const absl::Status s =
      ExecAdmin(admin_dsn_, "DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)");
  if (!s.ok()) ADD_FAILURE() << "dropping test database " << name_ << ": " << s;
}

void PgTest::SetUp() {
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin) GTEST_SKIP() << "MLOPS_TEST_PG_DSN is not set (run under scripts/with-pg.sh)";
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string prefix =
      info != nullptr ? std::string(info->test_suite_name()) + "_" + info->name() : "test";
  absl::StatusOr<std::unique_ptr<PgTestDatabase>> db = PgTestDatabase::Create(*admin, prefix);
  ASSERT_TRUE(db.ok()) << "creating a test database: " << db.status();
  db_ = *std::move(db);
}

void PgTest::TearDown() { db_.reset(); }

std::unique_ptr<PgPool> PgTest::MakePool(PgPoolOptions options) {
  options.dsn = dsn();
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(std::move(options));
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

int64_t QueryInt64(PgPool& pool, const std::string& sql) {
  return pool
      .WithTransaction(PgCallOptions{"test_query"},
                       [&](pqxx::transaction_base& tx) -> absl::StatusOr<int64_t> {
                         return tx.exec1(sql)[0].as<int64_t>();
                       })
      .value();
}

}  // namespace mlops
