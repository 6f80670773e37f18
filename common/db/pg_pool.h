#pragma once
// PgPool: the only way our code talks to PostgreSQL (STYLE.md §5).
//
// A fixed number of libpqxx 6.4 connections, opened lazily on first use. A
// connection found broken is discarded and reopened on its next use; failed
// connects back off exponentially (with jitter) for the whole pool, and calls
// made meanwhile fail fast with Unavailable instead of hanging. Each connection
// gets `statement_timeout`, `client_min_messages = warning`, and optionally
// `search_path = "<schema>", public` (restored by libpqxx if it reconnects by
// itself). Server notices are logged through common/log, not printed.
//
// This header does not include pqxx: callers that run SQL include <pqxx/pqxx>
// in their .cc (pg_*_store.cc) and receive pqxx::transaction_base& /
// pqxx::connection_base&. Exceptions thrown by the callables are caught here
// and converted with common/db/pg_status.h; none escapes.
//
//   absl::StatusOr<int64_t> id = pool->WithTransaction(
//       {"kInsertRun"}, [&](pqxx::transaction_base& tx) {
//         return tx.exec_params1(kInsertRun, name)[0].as<int64_t>();
//       });
//
// Thread-safe: any number of threads may call any method; at most `size`
// callables run at once, each on its own connection.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/db/pg_status.h"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace mlops {

enum class PgIsolation { kReadCommitted, kRepeatableRead, kSerializable };

// One finished WithConnection / WithTransaction call, for metrics
// (e.g. mlops_db_query_duration_seconds{query=name}).
struct PgCallEvent {
  std::string_view name;         // PgCallOptions::name
  bool transaction = false;      // WithTransaction (true) or WithConnection
  int attempts = 0;              // 1 + retries of the whole callable
  absl::Duration wait;           // time spent waiting for a free connection
  absl::Duration duration;       // whole call, waits and retries included
  absl::StatusCode code = absl::StatusCode::kOk;
};

struct PgPoolOptions {
  // libpq connection string, URI (postgresql://user@host:port/db) or key=value.
  // Never logged (it may hold a password).
  std::string dsn;
  int size = 4;                                           // connections, >= 1
  absl::Duration statement_timeout = absl::Seconds(10);  // per connection; > 0
  std::string search_path;      // a schema name ([a-z][a-z0-9_]{0,62}); empty: default
  absl::Duration acquire_timeout = absl::Seconds(5);     // wait for a free connection
  absl::Duration connect_timeout = absl::Seconds(5);     // libpq connect_timeout (>= 2 s)
  int max_txn_attempts = 4;     // WithTransaction: 1 + retries on Aborted / lost connection
  absl::Duration retry_backoff = absl::Milliseconds(10);  // first retry delay, doubled, jittered
  absl::Duration reconnect_backoff_initial = absl::Milliseconds(100);
  absl::Duration reconnect_backoff_max = absl::Seconds(5);
  std::string application_name = "mlops";               // shown in pg_stat_activity
  // Called after every call on the calling thread; must be thread-safe. Optional.
  std::function<void(const PgCallEvent&)> observer;
};

// Per-call settings. `PgCallOptions{"kInsertRun"}` names the call for errors,
// logs and the observer; name must outlive the call (use a string literal).
struct PgCallOptions {
  std::string_view name = "unnamed";
  PgIsolation isolation = PgIsolation::kReadCommitted;  // WithTransaction only
  bool read_only = false;                               // WithTransaction only
  // WithTransaction only: SET LOCAL statement_timeout for this transaction.
  // Zero: the pool's; absl::InfiniteDuration(): no timeout (bulk loads).
  absl::Duration statement_timeout = absl::ZeroDuration();
  int max_attempts = 0;  // WithTransaction only; 0: PgPoolOptions::max_txn_attempts
};

// A snapshot of the pool's state, for gauges and debugging.
struct PgPoolStats {
  int size = 0;
  int open = 0;         // slots holding a connection when last returned to the pool
  int in_use = 0;       // leased to a running callable
  int waiting = 0;      // callers waiting for a free connection
  int64_t connects = 0;          // successful connects since creation
  int64_t connect_failures = 0;  // failed connects since creation
  int64_t connections_lost = 0;  // connections found broken and discarded
};

class PgPool {
 public:
  // Validates the options (InvalidArgument naming the bad one, e.g. a DSN that
  // libpq cannot parse). Does not connect: the first call does.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(PgPoolOptions options);

  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs fn(pqxx::connection_base&) on a leased connection, once: it is never
  // retried, as it may have had effects. fn may return void, absl::Status,
  // absl::StatusOr<T> or T; the result is absl::Status or absl::StatusOr<T>.
  // Errors: Unavailable (no connection free within acquire_timeout, server
  // unreachable, connection lost), anything fn returns, or the mapping of what
  // it throws (pg_status.h).
  template <class F>
  auto WithConnection(const PgCallOptions& call, F&& fn);
  template <class F>
  auto WithConnection(F&& fn) {
    return WithConnection(PgCallOptions{}, std::forward<F>(fn));
  }

  // Runs fn(pqxx::transaction_base&) inside BEGIN ... COMMIT at the requested
  // isolation. fn returning a non-OK status (or throwing) rolls back. The whole
  // of fn is run again, after a jittered backoff, up to max_attempts in all,
  // when the attempt ends in Aborted (serialization failure, deadlock, lock
  // timeout, or fn returned Aborted) or its connection was lost before COMMIT
  // (a fresh connection is used). So fn must have no effects outside the
  // transaction except ones that are safe to repeat. Connection lost during
  // COMMIT: Unavailable, not retried (the outcome is unknown).
  template <class F>
  auto WithTransaction(const PgCallOptions& call, F&& fn);
  template <class F>
  auto WithTransaction(F&& fn) {
    return WithTransaction(PgCallOptions{}, std::forward<F>(fn));
  }

  // The non-template cores of the above.
  absl::Status RunWithConnection(const PgCallOptions& call,
                                 const std::function<absl::Status(pqxx::connection_base&)>& fn);
  absl::Status RunInTransaction(const PgCallOptions& call,
                                const std::function<absl::Status(pqxx::transaction_base&)>& fn);

  // SELECT 1 on a pooled connection (opening one if needed). For health checks.
  absl::Status Ping();

  PgPoolStats Stats() const;
  const PgPoolOptions& options() const { return options_; }

 private:
  struct Slot;            // one connection (defined in pg_pool.cc)
  struct AttemptResult;   // outcome of one run of a callable

  PgPool(PgPoolOptions options, std::string conninfo);

  // Leases a free slot with an open connection (connecting if needed) before
  // `deadline`; adds the time spent waiting to *waited.
  absl::StatusOr<int> Acquire(absl::Time deadline, absl::Duration* waited);
  // Returns the slot; a slot whose connection is broken is emptied first.
  void Release(int slot);
  absl::Status Connect(Slot& slot);
  absl::Duration RetryDelay(int attempt);
  void Observe(const PgCallOptions& call, bool transaction, int attempts,
               absl::Duration wait, absl::Time start, const absl::Status& status);
  AttemptResult AttemptTransaction(Slot& slot, const PgCallOptions& call,
                                   const std::function<absl::Status(pqxx::transaction_base&)>& fn);

  const PgPoolOptions options_;
  const std::string conninfo_;  // dsn + connect_timeout, application_name

  // Each slot is used only by the thread that leased it (Acquire..Release);
  // which slots are free is guarded by mu_.
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable absl::Mutex mu_;
  std::vector<int> free_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> open_ ABSL_GUARDED_BY(mu_);  // per slot: has a connection
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_in_row_ ABSL_GUARDED_BY(mu_) = 0;  // failed connects since last success
  absl::Time next_connect_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_connect_error_ ABSL_GUARDED_BY(mu_);
  int64_t connects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t connect_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t connections_lost_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rng_state_ ABSL_GUARDED_BY(mu_);  // jitter (splitmix64)
};

// ---------------------------------------------------------------------------
// Implementation of the templates.

namespace pg_internal {

// Calls run(std::function<Status(Arg&)>) with a wrapper around fn that stores
// fn's value (if any) and returns what With* promise for fn's return type.
template <class Arg, class Run, class F>
auto RunAndCollect(Run&& run, F& fn) {
  using Out = ResultOfT<std::invoke_result_t<F&, Arg&>>;
  if constexpr (std::is_same_v<Out, absl::Status>) {
    return run([&fn](Arg& a) -> absl::Status { return CallAndWrap(fn, a); });
  } else {
    std::optional<typename Out::value_type> out;
    absl::Status s = run([&](Arg& a) -> absl::Status {
      Out r = CallAndWrap(fn, a);
      if (!r.ok()) return r.status();
      out.emplace(*std::move(r));
      return absl::OkStatus();
    });
    if (!s.ok()) return Out(std::move(s));
    return Out(std::move(*out));
  }
}

}  // namespace pg_internal

template <class F>
auto PgPool::WithConnection(const PgCallOptions& call, F&& fn) {
  return pg_internal::RunAndCollect<pqxx::connection_base>(
      [&](const std::function<absl::Status(pqxx::connection_base&)>& f) {
        return RunWithConnection(call, f);
      },
      fn);
}

template <class F>
auto PgPool::WithTransaction(const PgCallOptions& call, F&& fn) {
  return pg_internal::RunAndCollect<pqxx::transaction_base>(
      [&](const std::function<absl::Status(pqxx::transaction_base&)>& f) {
        return RunInTransaction(call, f);
      },
      fn);
}

}  // namespace mlops
