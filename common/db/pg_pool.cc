#include "common/db/pg_pool.h"

#include <libpq-fe.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/db/pg_conninfo.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops {
namespace {

// Routes server notices and warnings to the log instead of stderr.
class NoticeLogger final : public pqxx::errorhandler {
 public:
  explicit NoticeLogger(pqxx::connection_base& c) : pqxx::errorhandler(c) {}
  bool operator()(const char msg[]) noexcept override {
    try {
      std::string text(msg);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      LogWarn("pg_notice", {{"message", text}});
    } catch (...) {
    }
    return false;  // handled: do not pass on to libpqxx's default (stderr)
  }
};

std::string MillisString(absl::Duration d) {
  return std::to_string(absl::ToInt64Milliseconds(d));
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <pqxx::isolation_level L, pqxx::readwrite_policy W>
absl::Status RunTx(pqxx::connection_base& conn, const PgCallOptions& call,
                   const std::function<absl::Status(pqxx::transaction_base&)>& fn) {
  pqxx::transaction<L, W> tx(conn);
  if (call.statement_timeout != absl::ZeroDuration()) {
    const std::string ms = call.statement_timeout == absl::InfiniteDuration()
                               ? std::string("0")
                               : MillisString(call.statement_timeout);
    tx.exec("SET LOCAL statement_timeout = " + ms);
  }
  absl::Status s = fn(tx);
  if (!s.ok()) return s;  // tx's destructor rolls back
  tx.commit();
  return absl::OkStatus();
}

template <pqxx::isolation_level L>
absl::Status RunTxLevel(pqxx::connection_base& conn, const PgCallOptions& call,
                        const std::function<absl::Status(pqxx::transaction_base&)>& fn) {
  if (call.read_only) return RunTx<L, pqxx::read_only>(conn, call, fn);
  return RunTx<L, pqxx::read_write>(conn, call, fn);
}

}  // namespace

struct PgPool::Slot {
  // Destroyed in reverse order: the notice handler goes before its connection.
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<NoticeLogger> notices;

  bool usable() const { return conn != nullptr && conn->is_open(); }
  void Close() {
    notices.reset();
    conn.reset();
  }
};

struct PgPool::AttemptResult {
  absl::Status status;
  bool retryable = false;  // safe and useful to run the callable again
};

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(PgPoolOptions options) {
  if (options.size < 1 || options.size > 1000) {
    return absl::InvalidArgumentError("pg pool: size must be in [1, 1000], got " +
                                      std::to_string(options.size));
  }
  if (options.statement_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg pool: statement_timeout must be > 0");
  }
  if (options.acquire_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("pg pool: acquire_timeout must be >= 0");
  }
  if (options.max_txn_attempts < 1) {
    return absl::InvalidArgumentError("pg pool: max_txn_attempts must be >= 1");
  }
  if (options.reconnect_backoff_initial <= absl::ZeroDuration() ||
      options.reconnect_backoff_max < options.reconnect_backoff_initial) {
    return absl::InvalidArgumentError(
        "pg pool: need 0 < reconnect_backoff_initial <= reconnect_backoff_max");
  }
  if (!options.search_path.empty() && !IsValidPgIdentifier(options.search_path)) {
    return absl::InvalidArgumentError("pg pool: search_path \"" + options.search_path +
                                      "\" is not a schema name [a-z][a-z0-9_]{0,62}");
  }
  MLOPS_ASSIGN_OR_RETURN(
      std::string conninfo,
      AddConninfoDefaults(options.dsn,
                          {{"connect_timeout",
                            std::to_string(std::max<int64_t>(
                                2, absl::ToInt64Seconds(options.connect_timeout)))},
                           {"application_name", options.application_name}}));
  return std::unique_ptr<PgPool>(new PgPool(std::move(options), std::move(conninfo)));
}

PgPool::PgPool(PgPoolOptions options, std::string conninfo)
    : options_(std::move(options)), conninfo_(std::move(conninfo)) {
  absl::MutexLock lock(&mu_);
  rng_state_ = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^
               reinterpret_cast<uintptr_t>(this);
  for (int i = 0; i < options_.size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(options_.size - 1 - i);
    open_.push_back(false);
  }
}

PgPool::~PgPool() = default;

absl::Status PgPool::Connect(Slot& slot) {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now < next_connect_) {
      return absl::UnavailableError(
          "postgres unreachable (next reconnect attempt in " +
          absl::FormatDuration(next_connect_ - now) + "): " + last_connect_error_);
    }
  }
  std::string error;
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    auto notices = std::make_unique<NoticeLogger>(*conn);
    // set_variable: libpqxx re-applies these if it reconnects by itself.
    conn->set_variable("client_min_messages", "warning");
    conn->set_variable("statement_timeout", MillisString(options_.statement_timeout));
    if (!options_.search_path.empty()) {
      conn->set_variable("search_path", "\"" + options_.search_path + "\", public");
    }
    slot.conn = std::move(conn);
    slot.notices = std::move(notices);
  } catch (const std::exception& e) {
    error = std::string(PgExceptionToStatus(e).message());
  }
  absl::MutexLock lock(&mu_);
  if (error.empty()) {
    ++connects_;
    if (failures_in_row_ > 0) {
      LogInfo("pg_reconnected", {{"failed_attempts", std::to_string(failures_in_row_)}});
    }
    failures_in_row_ = 0;
    next_connect_ = absl::InfinitePast();
    return absl::OkStatus();
  }
  ++connect_failures_;
  ++failures_in_row_;
  const double factor = std::ldexp(1.0, std::min(failures_in_row_ - 1, 30));
  absl::Duration backoff =
      std::min(options_.reconnect_backoff_initial * factor, options_.reconnect_backoff_max);
  const double jitter = 0.5 + 0.5 * static_cast<double>(SplitMix64(rng_state_) >> 11) /
                                  static_cast<double>(1ULL << 53);
  backoff = backoff * jitter;
  next_connect_ = absl::Now() + backoff;
  last_connect_error_ = error;
  LogWarn("pg_connect_failed", {{"error", error},
                                {"failures_in_row", std::to_string(failures_in_row_)},
                                {"retry_in", absl::FormatDuration(backoff)}});
  return absl::UnavailableError("cannot connect to postgres: " + error);
}

absl::StatusOr<int> PgPool::Acquire(absl::Time deadline, absl::Duration* waited) {
  int index = -1;
  {
    const absl::Time wait_start = absl::Now();
    absl::MutexLock lock(&mu_);
    ++waiting_;
    const bool got =
        mu_.AwaitWithDeadline(absl::Condition(
                                  +[](std::vector<int>* f) { return !f->empty(); }, &free_),
                              deadline);
    --waiting_;
    *waited += absl::Now() - wait_start;
    if (!got) {
      return absl::UnavailableError("pg pool: no free connection within " +
                                    absl::FormatDuration(options_.acquire_timeout) +
                                    " (pool size " + std::to_string(options_.size) + ")");
    }
    // Prefer a slot that already has a connection.
    auto it = std::find_if(free_.rbegin(), free_.rend(), [this](int i) {
      mu_.AssertHeld();
      return open_[i];
    });
    auto chosen = it == free_.rend() ? std::prev(free_.end()) : std::prev(it.base());
    index = *chosen;
    free_.erase(chosen);
  }
  Slot& slot = *slots_[index];
  if (!slot.usable()) {
    slot.Close();
    absl::Status s = Connect(slot);
    if (!s.ok()) {
      Release(index);
      return s;
    }
  }
  return index;
}

void PgPool::Release(int index) {
  Slot& slot = *slots_[index];
  bool lost = false;
  if (slot.conn != nullptr && !slot.conn->is_open()) {
    slot.Close();
    lost = true;
  }
  absl::MutexLock lock(&mu_);
  if (lost) ++connections_lost_;
  open_[index] = slot.conn != nullptr;
  free_.push_back(index);
}

absl::Duration PgPool::RetryDelay(int attempt) {
  absl::MutexLock lock(&mu_);
  const double factor = std::ldexp(1.0, std::min(attempt - 1, 10));
  const double jitter = 0.5 + static_cast<double>(SplitMix64(rng_state_) >> 11) /
                                  static_cast<double>(1ULL << 53);
  return options_.retry_backoff * factor * jitter;
}

void PgPool::Observe(const PgCallOptions& call, bool transaction, int attempts,
                     absl::Duration wait, absl::Time start, const absl::Status& status) {
  if (!options_.observer) return;
  PgCallEvent event;
  event.name = call.name;
  event.transaction = transaction;
  event.attempts = attempts;
  event.wait = wait;
  event.duration = absl::Now() - start;
  event.code = status.code();
  options_.observer(event);
}

absl::Status PgPool::RunWithConnection(
    const PgCallOptions& call, const std::function<absl::Status(pqxx::connection_base&)>& fn) {
  const absl::Time start = absl::Now();
  absl::Duration waited;
  absl::StatusOr<int> index = Acquire(start + options_.acquire_timeout, &waited);
  absl::Status status = index.status();
  if (index.ok()) {
    try {
      status = fn(*slots_[*index]->conn);
    } catch (const std::exception& e) {
      status = PgExceptionToStatus(e, call.name);
    } catch (...) {
      status = PgExceptionToStatus(std::current_exception(), call.name);
    }
    Release(*index);
  }
  Observe(call, /*transaction=*/false, 1, waited, start, status);
  return status;
}

PgPool::AttemptResult PgPool::AttemptTransaction(
    Slot& slot, const PgCallOptions& call,
    const std::function<absl::Status(pqxx::transaction_base&)>& fn) {
  AttemptResult r;
  bool in_doubt = false;
  try {
    pqxx::connection_base& c = *slot.conn;
    switch (call.isolation) {
      case PgIsolation::kReadCommitted:
        r.status = RunTxLevel<pqxx::read_committed>(c, call, fn);
        break;
      case PgIsolation::kRepeatableRead:
        r.status = RunTxLevel<pqxx::repeatable_read>(c, call, fn);
        break;
      case PgIsolation::kSerializable:
        r.status = RunTxLevel<pqxx::serializable>(c, call, fn);
        break;
    }
  } catch (const std::exception& e) {
    r.status = PgExceptionToStatus(e, call.name);
    in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr;
  } catch (...) {
    r.status = PgExceptionToStatus(std::current_exception(), call.name);
  }
  const bool lost = !slot.usable();
  r.retryable = r.status.code() == absl::StatusCode::kAborted || (lost && !in_doubt);
  if (lost && !in_doubt && r.status.ok()) {
    // Committed, then the connection dropped: the result stands.
    r.retryable = false;
  }
  return r;
}

absl::Status PgPool::RunInTransaction(
    const PgCallOptions& call, const std::function<absl::Status(pqxx::transaction_base&)>& fn) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options_.acquire_timeout;
  const int max_attempts = call.max_attempts > 0 ? call.max_attempts : options_.max_txn_attempts;
  absl::Duration waited;
  absl::Status status;
  int attempt = 0;
  while (attempt < max_attempts) {
    ++attempt;
    absl::StatusOr<int> index = Acquire(std::max(deadline, absl::Now()), &waited);
    if (!index.ok()) {
      status = index.status();
      break;
    }
    AttemptResult r = AttemptTransaction(*slots_[*index], call, fn);
    Release(*index);
    status = std::move(r.status);
    if (!r.retryable || attempt >= max_attempts) break;
    absl::SleepFor(RetryDelay(attempt));
  }
  if (!status.ok() && attempt > 1) {
    status = absl::Status(status.code(), std::string(status.message()) + " (after " +
                                             std::to_string(attempt) + " attempts)");
  }
  Observe(call, /*transaction=*/true, attempt, waited, start, status);
  return status;
}

absl::Status PgPool::Ping() {
  return WithConnection(PgCallOptions{"ping"}, [](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
  });
}

PgPoolStats PgPool::Stats() const {
  absl::MutexLock lock(&mu_);
  PgPoolStats s;
  s.size = options_.size;
  s.open = static_cast<int>(std::count(open_.begin(), open_.end(), true));
  s.in_use = options_.size - static_cast<int>(free_.size());
  s.waiting = waiting_;
  s.connects = connects_;
  s.connect_failures = connect_failures_;
  s.connections_lost = connections_lost_;
  return s;
}

}  // namespace mlops
