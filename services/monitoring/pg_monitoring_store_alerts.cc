// PgMonitoringStore: alerts.
#include <utility>

#include "absl/strings/str_join.h"
#include "pqxx/pqxx"
#include "services/monitoring/pg_monitoring_store.h"

namespace mlops::monitoring {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kNextNumber[] = "SELECT nextval('alert_numbers')";
constexpr char kUpsertAlert[] =
    "INSERT INTO alerts (number, model, version, policy, state, severity, "
    "pending_since_micros, resolved_at_micros, alert) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (number) DO UPDATE SET state = EXCLUDED.state, "
    "resolved_at_micros = EXCLUDED.resolved_at_micros, alert = EXCLUDED.alert";
constexpr char kColumns[] =
    "SELECT number, model, version, policy, state, severity, pending_since_micros, "
    "resolved_at_micros, alert FROM alerts ";
constexpr char kWhereNumber[] = "WHERE number = $1";
constexpr char kWhereFilters[] =
    "WHERE ($1 = '' OR model = $1) AND ($2::bigint = 0 OR version = $2::bigint) "
    "AND ($3 = '' OR policy = $3) "
    "AND ($4 = '' OR state = ANY(string_to_array($4, ',')::int[])) "
    "AND severity >= $5::int "
    "AND ($6::bigint = 0 OR resolved_at_micros = 0 OR resolved_at_micros >= $6::bigint) "
    "AND ($7::bigint = 0 OR pending_since_micros < $7::bigint) "
    "AND ($8::bigint = 0 OR number < $8::bigint) ORDER BY number DESC LIMIT $9::int";

StoredAlert AlertOf(const pqxx::row& r) {
  StoredAlert a;
  a.number = r[0].as<int64_t>();
  a.model = r[1].as<std::string>();
  a.version = r[2].as<int64_t>();
  a.policy = r[3].as<std::string>();
  a.state = r[4].as<int32_t>();
  a.severity = r[5].as<int32_t>();
  a.pending_since_micros = r[6].as<int64_t>();
  a.resolved_at_micros = r[7].as<int64_t>();
  a.alert = pqxx::binarystring(r[8]).str();
  return a;
}

}  // namespace

absl::StatusOr<int64_t> PgMonitoringStore::NextAlertNumber() {
  return pool_->WithTransaction(PgCallOptions{"monitoring_next_alert_number"},
                                [&](Txn& txn) -> absl::StatusOr<int64_t> {
                                  return txn.exec1(kNextNumber)[0].as<int64_t>();
                                });
}

absl::Status PgMonitoringStore::PutAlert(const StoredAlert& a) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_put_alert"}, [&](Txn& txn) {
    txn.exec_params(kUpsertAlert, a.number, a.model, a.version, a.policy, a.state, a.severity,
                    a.pending_since_micros, a.resolved_at_micros, pqxx::binarystring(a.alert));
  });
}

absl::StatusOr<std::optional<StoredAlert>> PgMonitoringStore::GetAlert(int64_t number) {
  PgCallOptions call{"monitoring_get_alert"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::optional<StoredAlert>> {
    pqxx::result r = txn.exec_params(std::string(kColumns) + kWhereNumber, number);
    if (r.empty()) return std::optional<StoredAlert>();
    return std::optional<StoredAlert>(AlertOf(r[0]));
  });
}

absl::StatusOr<std::vector<StoredAlert>> PgMonitoringStore::ListAlerts(const AlertQuery& q) {
  PgCallOptions call{"monitoring_list_alerts"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::vector<StoredAlert>> {
    std::vector<StoredAlert> out;
    for (const pqxx::row& r : txn.exec_params(
             std::string(kColumns) + kWhereFilters, q.model, q.version, q.policy,
             absl::StrJoin(q.states, ","), q.min_severity, q.active_from_micros,
             q.active_to_micros, q.before_number, q.limit)) {
      out.push_back(AlertOf(r));
    }
    return out;
  });
}

}  // namespace mlops::monitoring
