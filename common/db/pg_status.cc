#include "common/db/pg_status.h"

#include <pqxx/except>

#include <string>

namespace mlops {
namespace {

// One line: runs of whitespace (libpq's "ERROR:  x\nDETAIL:  y\n") become one space.
std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string Message(std::string_view context, std::string_view what,
                    std::string_view sqlstate) {
  std::string msg;
  if (!context.empty()) {
    msg.append(context.data(), context.size());
    msg.append(": ");
  }
  msg.append(CollapseWhitespace(what));
  if (!sqlstate.empty()) {
    msg.append(" [SQLSTATE ");
    msg.append(sqlstate.data(), sqlstate.size());
    msg.append("]");
  }
  return msg;
}

// libpqxx 6 throws the transaction_rollback family without a SQLSTATE; these
// recover it from the type. Most derived types first.
std::string_view SqlStateOfRollback(const pqxx::transaction_rollback& e) {
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) return "40001";
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) return "40P01";
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return "40003";
  }
  return "40000";
}

bool IsConnectionSqlState(std::string_view s) {
  return (s.size() == 5 && s.substr(0, 2) == "08") || s == "57P01" || s == "57P02" ||
         s == "57P03" || s == "53300";
}

}  // namespace

absl::StatusCode PgSqlStateToCode(std::string_view s) {
  if (s.size() != 5) return absl::StatusCode::kInternal;
  const std::string_view cls = s.substr(0, 2);
  if (s == "23505" || s == "23P01") return absl::StatusCode::kAlreadyExists;
  if (s == "23502" || s == "23514") return absl::StatusCode::kInvalidArgument;
  if (cls == "23") return absl::StatusCode::kFailedPrecondition;
  if (cls == "22") return absl::StatusCode::kInvalidArgument;
  if (cls == "40" || s == "55P03") return absl::StatusCode::kAborted;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (IsConnectionSqlState(s)) return absl::StatusCode::kUnavailable;
  if (cls == "53") return absl::StatusCode::kResourceExhausted;
  return absl::StatusCode::kInternal;
}

bool IsPgConnectionError(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return IsConnectionSqlState(sql->sqlstate());
  }
  return false;
}

absl::Status PgExceptionToStatus(const std::exception& e, std::string_view context) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    return absl::Status(PgSqlStateToCode(sql->sqlstate()),
                        Message(context, sql->what(), sql->sqlstate()));
  }
  if (const auto* rb = dynamic_cast<const pqxx::transaction_rollback*>(&e)) {
    const std::string_view state = SqlStateOfRollback(*rb);
    return absl::Status(PgSqlStateToCode(state), Message(context, rb->what(), state));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(Message(
        context,
        std::string("connection lost during COMMIT, the transaction may or may not "
                    "have been committed: ") + e.what(),
        {}));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(Message(context, e.what(), {}));
  }
  return absl::InternalError(Message(context, e.what(), {}));
}

absl::Status PgExceptionToStatus(std::exception_ptr e, std::string_view context) {
  if (!e) return absl::InternalError(Message(context, "no exception", {}));
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return PgExceptionToStatus(ex, context);
  } catch (...) {
    return absl::InternalError(Message(context, "unknown non-std exception", {}));
  }
}

}  // namespace mlops
