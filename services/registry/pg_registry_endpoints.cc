// PgRegistryStore: endpoints (see pg_registry_store.h).
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"
#include "services/registry/pg_registry_store.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kUpsertEndpoint[] =
    "INSERT INTO endpoints (endpoint, model, promotion_rollout, description, updated_at_micros, "
    "updated_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE SET "
    "model = $2, promotion_rollout = $3, description = $4, updated_at_micros = $5, "
    "updated_by = $6";
constexpr char kSelectEndpoint[] =
    "SELECT endpoint, model, promotion_rollout, description, updated_at_micros, updated_by "
    "FROM endpoints WHERE endpoint = $1";
constexpr char kListEndpoints[] =
    "SELECT endpoint, model, promotion_rollout, description, updated_at_micros, updated_by "
    "FROM endpoints WHERE endpoint > $1 AND ($2 = '' OR model = $2) ORDER BY endpoint LIMIT $3";

EndpointRecord EndpointFromRow(const pqxx::row& r) {
  EndpointRecord e;
  e.endpoint = r[0].as<std::string>();
  e.model = r[1].as<std::string>();
  e.promotion_rollout = pqxx::binarystring(r[2]).str();
  e.description = r[3].as<std::string>();
  e.updated_at_micros = r[4].as<int64_t>();
  e.updated_by = r[5].as<std::string>();
  return e;
}

}  // namespace

absl::StatusOr<EndpointRecord> PgRegistryStore::SetEndpoint(const EndpointRecord& e,
                                                            AuditEntry audit) {
  return pool_->WithTransaction(
      PgCallOptions{"registry_set_endpoint"}, [&](Txn& txn) -> absl::StatusOr<EndpointRecord> {
        MLOPS_RETURN_IF_ERROR(pg_registry::LoadModel(txn, e.model).status());
        txn.exec_params(kUpsertEndpoint, e.endpoint, e.model,
                        pqxx::binarystring(e.promotion_rollout.data(), e.promotion_rollout.size()),
                        e.description, e.updated_at_micros, e.updated_by);
        pg_registry::AppendAudit(txn, audit);
        return e;
      });
}

absl::StatusOr<EndpointRecord> PgRegistryStore::GetEndpoint(const std::string& endpoint) {
  PgCallOptions call{"registry_get_endpoint"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<EndpointRecord> {
    pqxx::result r = txn.exec_params(kSelectEndpoint, endpoint);
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("endpoint \"", endpoint, "\" not found"));
    }
    return EndpointFromRow(r[0]);
  });
}

absl::StatusOr<std::vector<EndpointRecord>> PgRegistryStore::ListEndpoints(
    const std::string& model, const std::string& after, int limit) {
  PgCallOptions call{"registry_list_endpoints"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) {
    std::vector<EndpointRecord> out;
    for (const pqxx::row& r : txn.exec_params(kListEndpoints, after, model, limit)) {
      out.push_back(EndpointFromRow(r));
    }
    return out;
  });
}

}  // namespace mlops::registry
