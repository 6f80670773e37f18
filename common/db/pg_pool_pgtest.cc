// PgPool against a real PostgreSQL (label pg; run under scripts/with-pg.sh).
#include "common/db/pg_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>

#include <pqxx/pqxx>

#include <array>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/db_testdata_migrations.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

class PgPoolPgTest : public PgTest {
 protected:
  // A pool with the test tables (db_testdata: items, events) migrated.
  std::unique_ptr<PgPool> MigratedPool(PgPoolOptions options = {}) {
    options.search_path = "db_testdata";
    std::unique_ptr<PgPool> pool = MakePool(std::move(options));
    if (pool == nullptr) return nullptr;
    absl::StatusOr<MigrationReport> r =
        RunMigrations(*pool, "db_testdata", db_testdata::EmbeddedMigrations());
    EXPECT_THAT(r, IsOk());
    return pool;
  }
};

// The int in the first column of the first row of `sql`.
absl::StatusOr<int> QueryInt(PgPool& pool, const std::string& sql) {
  return pool.WithTransaction(
      [&](pqxx::transaction_base& tx) { return tx.exec(sql)[0][0].as<int>(); });
}

absl::Status InsertItem(PgPool& pool, int64_t id, const std::string& name, int qty) {
  return pool.WithTransaction({"kInsertItem"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params("INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)", id, name, qty);
  });
}

TEST_F(PgPoolPgTest, SixteenThreadsShareFourConnections) {
  PgPoolOptions o;
  o.size = 4;
  o.acquire_timeout = absl::Seconds(30);
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::unique_ptr<PgPool> pool = MigratedPool(o);
  ASSERT_NE(pool, nullptr);
  ASSERT_THAT(InsertItem(*pool, 1, "counter", 0), IsOk());

  constexpr int kThreads = 16;
  constexpr int kIncrements = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        absl::Status s = pool->WithTransaction([&](pqxx::transaction_base& tx) {
          const int now = ++in_flight;
          int seen = max_in_flight.load();
          while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
          }
          tx.exec("UPDATE items SET qty = qty + 1 WHERE id = 1");
          --in_flight;
        });
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(max_in_flight.load(), 4);
  EXPECT_GE(max_in_flight.load(), 2);  // the pool really ran calls in parallel
  absl::StatusOr<int> qty = QueryInt(*pool, "SELECT qty FROM items WHERE id = 1");
  ASSERT_THAT(qty, IsOk());
  EXPECT_EQ(*qty, kThreads * kIncrements);
  const PgPoolStats stats = pool->Stats();
  EXPECT_LE(stats.connects, 4);
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.waiting, 0);
}

TEST_F(PgPoolPgTest, StatementTimeoutIsDeadlineExceededAndConnectionStaysUsable) {
  PgPoolOptions o;
  o.size = 1;
  o.statement_timeout = absl::Milliseconds(200);
  std::unique_ptr<PgPool> pool = MakePool(o);
  ASSERT_NE(pool, nullptr);
  const absl::Time start = absl::Now();
  absl::Status s = pool->WithTransaction({"kSleep"}, [](pqxx::transaction_base& tx) {
    tx.exec("SELECT pg_sleep(5)");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("kSleep")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_THAT(pool->Ping(), IsOk());
  EXPECT_EQ(pool->Stats().connects, 1);
}

TEST_F(PgPoolPgTest, PerCallStatementTimeoutOverridesThePool) {
  std::unique_ptr<PgPool> pool = MakePool();
  ASSERT_NE(pool, nullptr);
  PgCallOptions call{"kShortSleep"};
  call.statement_timeout = absl::Milliseconds(100);
  EXPECT_THAT(pool->WithTransaction(call, [](pqxx::transaction_base& tx) {
    tx.exec("SELECT pg_sleep(3)");
  }),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::StatusOr<std::string> timeout = pool->WithTransaction([](pqxx::transaction_base& tx) {
    return tx.exec("SHOW statement_timeout")[0][0].as<std::string>();
  });
  ASSERT_THAT(timeout, IsOk());
  EXPECT_EQ(*timeout, "10s");  // the pool's default is back after the transaction
}

TEST_F(PgPoolPgTest, ConstraintViolationsMapToCodes) {
  std::unique_ptr<PgPool> pool = MigratedPool();
  ASSERT_NE(pool, nullptr);
  ASSERT_THAT(InsertItem(*pool, 1, "a", 1), IsOk());
  EXPECT_THAT(InsertItem(*pool, 1, "b", 1),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("23505")));
  EXPECT_THAT(InsertItem(*pool, 2, "a", 1), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(InsertItem(*pool, 3, "c", -1), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pool->WithTransaction([](pqxx::transaction_base& tx) {
    tx.exec("INSERT INTO events (item_id, at_micros) VALUES (99, 1)");
  }),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("23503")));
  EXPECT_THAT(pool->WithTransaction([](pqxx::transaction_base& tx) {
    tx.exec("SELEC 1");
  }),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("42601")));
}

TEST_F(PgPoolPgTest, ReturnedErrorRollsBackTheTransaction) {
  std::unique_ptr<PgPool> pool = MigratedPool();
  ASSERT_NE(pool, nullptr);
  absl::Status s = pool->WithTransaction([](pqxx::transaction_base& tx) -> absl::Status {
    tx.exec("INSERT INTO items VALUES (7, 'seven', 7)");
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition, "changed my mind"));
  absl::StatusOr<int> n = QueryInt(*pool, "SELECT count(*) FROM items");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 0);
}

TEST_F(PgPoolPgTest, SerializationFailureIsRetriedUntilItCommits) {
  std::atomic<int> attempts{0};
  PgPoolOptions o;
  o.size = 2;
  o.observer = [&](const PgCallEvent& e) {
    if (e.name == "kIncrementSerializable") attempts += e.attempts;
  };
  std::unique_ptr<PgPool> pool = MigratedPool(o);
  ASSERT_NE(pool, nullptr);
  ASSERT_THAT(InsertItem(*pool, 1, "x", 0), IsOk());

  // Both transactions read before either writes (first attempt only), so one
  // of them must fail to serialize and run again.
  std::atomic<int> arrived{0};
  auto increment = [&] {
    PgCallOptions call{"kIncrementSerializable", PgIsolation::kSerializable};
    bool first = true;
    return pool->WithTransaction(call, [&](pqxx::transaction_base& tx) {
      const int qty = tx.exec("SELECT qty FROM items WHERE id = 1")[0][0].as<int>();
      if (first) {
        first = false;
        ++arrived;
        const absl::Time until = absl::Now() + absl::Seconds(5);
        while (arrived.load() < 2 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
      }
      tx.exec_params("UPDATE items SET qty = $1 WHERE id = 1", qty + 1);
    });
  };
  absl::Status a, b;
  std::thread ta([&] { a = increment(); });
  std::thread tb([&] { b = increment(); });
  ta.join();
  tb.join();
  EXPECT_THAT(a, IsOk());
  EXPECT_THAT(b, IsOk());
  EXPECT_GE(attempts.load(), 3);
  absl::StatusOr<int> qty = QueryInt(*pool, "SELECT qty FROM items WHERE id = 1");
  ASSERT_THAT(qty, IsOk());
  EXPECT_EQ(*qty, 2);
}

TEST_F(PgPoolPgTest, LostConnectionInsideTransactionIsRetriedOnAFreshConnection) {
  std::atomic<int> attempts{0};
  PgPoolOptions o;
  o.size = 1;
  o.observer = [&](const PgCallEvent& e) { attempts = e.attempts; };
  std::unique_ptr<PgPool> pool = MigratedPool(o);
  ASSERT_NE(pool, nullptr);
  const int64_t connects_before = pool->Stats().connects;
  int runs = 0;
  absl::Status s = pool->WithTransaction([&](pqxx::transaction_base& tx) {
    tx.exec("INSERT INTO items VALUES (1, 'one', 1)");
    if (++runs == 1) tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
  });
  EXPECT_THAT(s, IsOk());
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_EQ(pool->Stats().connections_lost, 1);
  EXPECT_EQ(pool->Stats().connects, connects_before + 1);
  absl::StatusOr<int> n = QueryInt(*pool, "SELECT count(*) FROM items");
  ASSERT_THAT(n, IsOk());
  EXPECT_EQ(*n, 1);  // the first, interrupted attempt left nothing
}

TEST_F(PgPoolPgTest, LostConnectionInWithConnectionIsUnavailableAndNotRetried) {
  PgPoolOptions o;
  o.size = 1;
  std::unique_ptr<PgPool> pool = MakePool(o);
  ASSERT_NE(pool, nullptr);
  int runs = 0;
  absl::Status s = pool->WithConnection([&](pqxx::connection_base& c) {
    ++runs;
    pqxx::nontransaction tx(c);
    tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(runs, 1);
  EXPECT_THAT(pool->Ping(), IsOk());  // reconnected
  EXPECT_EQ(pool->Stats().connections_lost, 1);
}

TEST_F(PgPoolPgTest, ExhaustedPoolAnswersUnavailableAfterAcquireTimeout) {
  PgPoolOptions o;
  o.size = 1;
  o.acquire_timeout = absl::Milliseconds(100);
  std::unique_ptr<PgPool> pool = MakePool(o);
  ASSERT_NE(pool, nullptr);
  std::atomic<bool> holding{false};
  std::thread holder([&] {
    EXPECT_THAT(pool->WithConnection([&](pqxx::connection_base&) {
      holding = true;
      absl::SleepFor(absl::Milliseconds(800));
    }),
                IsOk());
  });
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!holding.load() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(1));
  const absl::Time start = absl::Now();
  EXPECT_THAT(pool->Ping(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no free connection")));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(700));
  holder.join();
  EXPECT_THAT(pool->Ping(), IsOk());
}

TEST_F(PgPoolPgTest, SetsSearchPathAndStatementTimeoutOnEachConnection) {
  PgPoolOptions o;
  o.statement_timeout = absl::Milliseconds(1500);
  std::unique_ptr<PgPool> pool = MigratedPool(o);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<std::string> settings = pool->WithConnection([](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT current_setting('search_path') || ' / ' || "
                   "current_setting('statement_timeout')")[0][0]
        .as<std::string>();
  });
  ASSERT_THAT(settings, IsOk());
  EXPECT_EQ(*settings, "db_testdata, public / 1500ms");
}

// Runs a command; returns its stdout (trailing newline removed) or an error.
absl::StatusOr<std::string> RunCommand(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return absl::InternalError("popen failed: " + command);
  std::string out;
  std::array<char, 256> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int rc = pclose(p);
  if (rc != 0) return absl::InternalError(command + " exited with " + std::to_string(rc));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A private throwaway cluster (scripts/pg.sh), so that restarting it cannot
// break tests that other processes run at the same time on the shared one.
class PrivateCluster {
 public:
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> Start() {
    const std::string root = MLOPS_REPO_ROOT;
    std::string dir = root + "/.local/pgrestart.XXXXXX";
    if (mkdir((root + "/.local").c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InternalError("cannot create " + root + "/.local");
    }
    if (mkdtemp(dir.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    auto cluster = std::unique_ptr<PrivateCluster>(new PrivateCluster(dir));
    absl::StatusOr<std::string> dsn = RunCommand(cluster->Script("start"));
    if (!dsn.ok()) return dsn.status();
    cluster->dsn_ = *dsn;
    return cluster;
  }
  ~PrivateCluster() {
    const int rc = system(Script("stop").c_str());
    EXPECT_EQ(rc, 0) << "stopping the private cluster";
  }
  absl::Status Restart() { return RunCommand(Script("restart")).status(); }
  const std::string& dsn() const { return dsn_; }

 private:
  explicit PrivateCluster(std::string dir) : dir_(std::move(dir)) {}
  std::string Script(const std::string& cmd) const {
    return std::string(MLOPS_REPO_ROOT) + "/scripts/pg.sh " + cmd + " '" + dir_ + "'";
  }
  std::string dir_;
  std::string dsn_;
};

TEST(PgPoolRestartPgTest, ReconnectsAfterTheServerRestarts) {
  if (!TestPgDsnFromEnv()) GTEST_SKIP() << "MLOPS_TEST_PG_DSN is not set";
  absl::StatusOr<std::unique_ptr<PrivateCluster>> cluster = PrivateCluster::Start();
  ASSERT_THAT(cluster, IsOk());
  PgPoolOptions o;
  o.dsn = (*cluster)->dsn();
  o.size = 2;
  o.statement_timeout = absl::Milliseconds(1234);
  o.reconnect_backoff_initial = absl::Milliseconds(50);
  o.reconnect_backoff_max = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(o);
  ASSERT_THAT(pool, IsOk());
  // Open both connections.
  std::thread other([&] {
    EXPECT_THAT((*pool)->WithConnection([](pqxx::connection_base&) {
      absl::SleepFor(absl::Milliseconds(200));
    }),
                IsOk());
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT((*pool)->Ping(), IsOk());
  other.join();
  ASSERT_EQ((*pool)->Stats().connects, 2);

  ASSERT_THAT((*cluster)->Restart(), IsOk());

  // Each call either succeeds or fails Unavailable; one succeeds within 30 s.
  auto query = [&] {
    return (*pool)->WithTransaction([](pqxx::transaction_base& tx) {
      return tx.exec("SHOW statement_timeout")[0][0].as<std::string>();
    });
  };
  const absl::Time restarted = absl::Now();
  const absl::Time until = restarted + absl::Seconds(30);
  absl::StatusOr<std::string> r = query();
  int failures = 0;
  while (!r.ok() && absl::Now() < until) {
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
    ++failures;
    absl::SleepFor(absl::Milliseconds(100));
    r = query();
  }
  ASSERT_THAT(r, IsOk()) << "after " << failures << " failures";
  std::cout << "recovered after " << failures << " failed calls in "
            << absl::FormatDuration(absl::Now() - restarted) << "\n";
  EXPECT_EQ(*r, "1234ms");  // settings are back on the new connection
  // Both old connections are found dead and replaced, one after the other.
  for (int i = 0; i < 4; ++i) EXPECT_THAT(query(), IsOk());
  std::thread again([&] { EXPECT_THAT(query(), IsOk()); });
  EXPECT_THAT(query(), IsOk());
  again.join();
  pool->reset();
}

}  // namespace
}  // namespace mlops
