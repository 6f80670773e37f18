// PgRegistryStore: reading the audit log (see pg_registry_store.h); entries
// are appended by pg_registry::AppendAudit inside each change's transaction.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/audit_copy_line.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;
using pg_registry::LoadModel;

constexpr char kAuditColumns[] =
    "SELECT sequence, at_micros, principal, event_type, model, version, endpoint, request_id, "
    "before_json, after_json, reason, details_json, prev_hash, entry_hash FROM audit_log ";
constexpr char kWhereAudit[] =
    "WHERE ($1 = '' OR model = $1) AND ($2::bigint = 0 OR version = $2::bigint) "
    "AND (cardinality($3::int[]) = 0 OR event_type = ANY($3::int[])) "
    "AND ($4 = '' OR principal = $4) "
    "AND ($5::bigint = 0 OR at_micros >= $5::bigint) "
    "AND ($6::bigint = 0 OR at_micros < $6::bigint) ";
constexpr char kAuditAsc[] = "AND sequence > $7::bigint ORDER BY sequence LIMIT $8";
constexpr char kAuditDesc[] =
    "AND ($7::bigint = 0 OR sequence < $7::bigint) ORDER BY sequence DESC LIMIT $8";
constexpr char kAuditHeadSql[] = "SELECT sequence FROM audit_head WHERE id = 1";
constexpr char kAuditHashAt[] = "SELECT entry_hash FROM audit_log WHERE sequence = $1";
constexpr char kEnteredProduction[] =
    "SELECT sequence, version, at_micros FROM audit_log WHERE model = $1 AND event_type = 6 "
    "AND after_json = '{\"stage\":\"PRODUCTION\"}' AND at_micros <= $2 "
    "ORDER BY sequence DESC LIMIT 1";
constexpr char kLeftProduction[] =
    "SELECT sequence, at_micros FROM audit_log WHERE model = $1 AND version = $2 "
    "AND event_type = 6 AND before_json = '{\"stage\":\"PRODUCTION\"}' AND sequence > $3 "
    "ORDER BY sequence LIMIT 1";

AuditEntry AuditFromRow(const pqxx::row& r) {
  AuditEntry e;
  e.sequence = r[0].as<int64_t>();
  e.at_micros = r[1].as<int64_t>();
  e.principal = r[2].as<std::string>();
  e.event_type = r[3].as<int>();
  e.model = r[4].as<std::string>();
  e.version = r[5].as<int64_t>();
  e.endpoint = r[6].as<std::string>();
  e.request_id = r[7].as<std::string>();
  e.before_json = r[8].as<std::string>();
  e.after_json = r[9].as<std::string>();
  e.reason = r[10].as<std::string>();
  e.details_json = r[11].as<std::string>();
  e.prev_hash = r[12].as<std::string>();
  e.entry_hash = r[13].as<std::string>();
  return e;
}

}  // namespace

absl::StatusOr<std::vector<AuditEntry>> PgRegistryStore::ReadAudit(const AuditFilter& f) {
  PgCallOptions call{"registry_read_audit"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::vector<AuditEntry>> {
    if (!f.model.empty()) MLOPS_RETURN_IF_ERROR(LoadModel(txn, f.model).status());
    const std::string sql =
        absl::StrCat(kAuditColumns, kWhereAudit, f.newest_first ? kAuditDesc : kAuditAsc);
    std::vector<AuditEntry> out;
    for (const pqxx::row& r :
         txn.exec_params(sql, f.model, f.version, pg_registry::NumArray(f.event_types), f.principal,
                         f.start_micros, f.end_micros, f.after_sequence, f.limit)) {
      out.push_back(AuditFromRow(r));
    }
    return out;
  });
}

absl::Status PgRegistryStore::ScanAudit(int64_t from, int64_t to,
                                        const std::function<bool(AuditEntry&)>& fn) {
  PgCallOptions call{"registry_scan_audit"};
  call.read_only = true;
  call.isolation = PgIsolation::kRepeatableRead;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::Status {
    // COPY streams the rows without holding a result set; the bounds are
    // integers, written into the statement (COPY takes no parameters).
    pqxx::stream_from rows(
        txn, absl::StrCat("(", kAuditColumns, "WHERE sequence >= ", from,
                          to != 0 ? absl::StrCat(" AND sequence <= ", to) : std::string(),
                          " ORDER BY sequence)"));
    std::string line;
    AuditEntry e;
    bool more = true;
    while (more && rows.get_raw_line(line)) {
      if (!ParseAuditCopyLine(line, &e)) {
        return absl::InternalError(absl::StrCat("audit_log: unreadable row after sequence ",
                                                e.sequence));
      }
      more = fn(e);
    }
    if (!more) {
      // Stopped early: drain the COPY so that the connection stays usable.
      while (rows.get_raw_line(line)) {
      }
    }
    rows.complete();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::string> PgRegistryStore::AuditHashAt(int64_t sequence) {
  if (sequence == 0) return std::string(kGenesisHash);
  PgCallOptions call{"registry_audit_hash_at"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::string> {
    pqxx::result r = txn.exec_params(kAuditHashAt, sequence);
    if (r.empty()) return absl::NotFoundError(absl::StrCat("no audit entry ", sequence));
    return r[0][0].as<std::string>();
  });
}

absl::StatusOr<ProductionAt> PgRegistryStore::ProductionAtTime(const std::string& model,
                                                               int64_t at_micros) {
  PgCallOptions call{"registry_production_at"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<ProductionAt> {
    MLOPS_RETURN_IF_ERROR(LoadModel(txn, model).status());
    ProductionAt out;
    pqxx::result in = txn.exec_params(kEnteredProduction, model, at_micros);
    if (in.empty()) return out;
    const int64_t version = in[0][1].as<int64_t>();
    pqxx::result left = txn.exec_params(kLeftProduction, model, version, in[0][0].as<int64_t>());
    if (!left.empty() && left[0][1].as<int64_t>() <= at_micros) return out;
    out.version = version;
    out.entered_sequence = in[0][0].as<int64_t>();
    out.since_micros = in[0][2].as<int64_t>();
    if (!left.empty()) {
      out.left_sequence = left[0][0].as<int64_t>();
      out.until_micros = left[0][1].as<int64_t>();
    }
    return out;
  });
}

absl::StatusOr<int64_t> PgRegistryStore::AuditHead() {
  PgCallOptions call{"registry_audit_head"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) { return txn.exec_params(kAuditHeadSql)[0][0].as<int64_t>(); });
}

}  // namespace mlops::registry
