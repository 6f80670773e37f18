#pragma once
// Converts libpqxx / PostgreSQL errors to absl::Status: the one place where the
// mapping lives (STYLE.md §3). This header does not include pqxx; pg_*_store.cc
// files call PgTry(...) or PgExceptionToStatus(...) inside their catch blocks.
//
// Mapping (SQLSTATE classes from the PostgreSQL manual, appendix A):
//   unique_violation 23505, exclusion_violation 23P01     -> AlreadyExists
//   serialization_failure 40001, deadlock_detected 40P01,
//     other transaction rollbacks 40xxx, lock_not_available 55P03
//                                                         -> Aborted (retry txn)
//   broken_connection / class 08, admin/crash shutdown 57P01..57P03,
//     too_many_connections 53300, in_doubt_error          -> Unavailable
//   query_canceled 57014 (statement_timeout)              -> DeadlineExceeded
//   not_null_violation 23502, check_violation 23514,
//     data_exception class 22 (bad number, text, date...)  -> InvalidArgument
//       (the values themselves are bad, whatever the state of the database)
//   foreign_key_violation 23503, restrict_violation 23001,
//     other integrity_constraint_violation 23xxx          -> FailedPrecondition
//       (the row is fine, but the rows it refers to are missing, or others
//        still refer to it: it depends on the state of the database)
//   disk_full 53100, out_of_memory 53200, other class 53  -> ResourceExhausted
//   anything else (syntax errors, undefined tables, libpqxx usage or
//     conversion errors, std::exception)                  -> Internal
// Messages: "<context>: <postgres message> [SQLSTATE xxxxx]", whitespace
// collapsed; for in_doubt_error the message says the COMMIT outcome is unknown
// (retry only idempotent work). Callers may replace messages with domain ones
// (e.g. `model "m" version 3 already exists`) before they reach a client.

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops {

// Pure mapping of a five-character SQLSTATE to a status code (the table above).
// Unknown or empty states give kInternal.
absl::StatusCode PgSqlStateToCode(std::string_view sqlstate);

// Converts any exception (pqxx or not) to a non-OK status. `context` (may be
// empty) prefixes the message, e.g. the name of the SQL constant.
absl::Status PgExceptionToStatus(const std::exception& e, std::string_view context = {});
absl::Status PgExceptionToStatus(std::exception_ptr e, std::string_view context = {});

// True if the exception means the connection is unusable (broken_connection
// and subclasses, in_doubt_error, class 08, 57P01..57P03).
bool IsPgConnectionError(const std::exception& e);

namespace pg_internal {

template <class T>
struct IsStatusOr : std::false_type {};
template <class T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

// What PgTry / PgPool::With* return for a callable returning R:
//   void or absl::Status -> absl::Status; absl::StatusOr<T> -> itself;
//   any other T -> absl::StatusOr<T>.
template <class R>
struct ResultOf {
  using type = absl::StatusOr<R>;
};
template <>
struct ResultOf<void> {
  using type = absl::Status;
};
template <>
struct ResultOf<absl::Status> {
  using type = absl::Status;
};
template <class T>
struct ResultOf<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};
template <class R>
using ResultOfT = typename ResultOf<std::decay_t<R>>::type;

// Calls fn(args...) and wraps what it returns into ResultOfT<...>.
template <class F, class... Args>
auto CallAndWrap(F&& fn, Args&&... args)
    -> ResultOfT<std::invoke_result_t<F, Args...>> {
  using R = std::invoke_result_t<F, Args...>;
  if constexpr (std::is_void_v<R>) {
    std::forward<F>(fn)(std::forward<Args>(args)...);
    return absl::OkStatus();
  } else {
    return std::forward<F>(fn)(std::forward<Args>(args)...);
  }
}

}  // namespace pg_internal

// Runs fn() and converts any exception it throws into a status:
//   absl::StatusOr<int64_t> n = PgTry("kCountRuns", [&] { return tx.exec1(...)[0].as<int64_t>(); });
// fn may return void, absl::Status, absl::StatusOr<T> or T (see ResultOf).
template <class F>
auto PgTry(std::string_view context, F&& fn)
    -> pg_internal::ResultOfT<std::invoke_result_t<F>> {
  try {
    return pg_internal::CallAndWrap(std::forward<F>(fn));
  } catch (...) {
    return PgExceptionToStatus(std::current_exception(), context);
  }
}

template <class F>
auto PgTry(F&& fn) -> pg_internal::ResultOfT<std::invoke_result_t<F>> {
  return PgTry(std::string_view(), std::forward<F>(fn));
}

}  // namespace mlops
