#include "services/gateway/pg_endpoint_store.h"

#include <pqxx/pqxx>

#include "common/status/status_macros.h"

namespace mlops::gateway {
namespace {

constexpr char kUpsertEndpoint[] = R"sql(
INSERT INTO endpoints (endpoint, model, primary_version, previous_version, rollout_id,
                       updated_at_micros)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (endpoint) DO UPDATE SET model = EXCLUDED.model,
  primary_version = EXCLUDED.primary_version, previous_version = EXCLUDED.previous_version,
  rollout_id = EXCLUDED.rollout_id, updated_at_micros = EXCLUDED.updated_at_micros)sql";

constexpr char kUpsertRollout[] = R"sql(
INSERT INTO rollouts (rollout_id, endpoint, model, origin, spec, primary_version,
  candidate_version, state, step, started_at_micros, step_started_at_micros,
  finished_at_micros, started_by, rollback_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (rollout_id) DO UPDATE SET state = EXCLUDED.state, step = EXCLUDED.step,
  primary_version = EXCLUDED.primary_version, step_started_at_micros = EXCLUDED.step_started_at_micros,
  finished_at_micros = EXCLUDED.finished_at_micros, rollback_reason = EXCLUDED.rollback_reason)sql";

constexpr char kSelectAll[] = R"sql(
SELECT e.endpoint, e.model, e.primary_version, e.previous_version, e.updated_at_micros,
       r.rollout_id, r.origin, r.spec, r.primary_version, r.candidate_version, r.state, r.step,
       r.started_at_micros, r.step_started_at_micros, r.finished_at_micros, r.started_by,
       r.rollback_reason, r.model
FROM endpoints e LEFT JOIN rollouts r ON r.rollout_id = e.rollout_id
ORDER BY e.endpoint)sql";

constexpr char kEnsureStartRow[] = R"sql(
INSERT INTO rollout_starts (endpoint) VALUES ($1) ON CONFLICT (endpoint) DO NOTHING)sql";

// The claim row locked, with the states replicas saved for its rollout and
// for the endpoint's current one.
constexpr char kLockStart[] = R"sql(
SELECT s.token, s.claimed_at_micros, s.rollout_id, cr.state, e.rollout_id, er.state
FROM rollout_starts s
LEFT JOIN rollouts cr ON cr.rollout_id = s.rollout_id
LEFT JOIN endpoints e ON e.endpoint = s.endpoint
LEFT JOIN rollouts er ON er.rollout_id = e.rollout_id
WHERE s.endpoint = $1
FOR UPDATE OF s)sql";

constexpr char kClaimStart[] = R"sql(
UPDATE rollout_starts SET token = $2, claimed_at_micros = $3, rollout_id = '' WHERE endpoint = $1)sql";

constexpr char kFinishStart[] = R"sql(
UPDATE rollout_starts SET rollout_id = $3 WHERE endpoint = $1 AND token = $2)sql";

constexpr char kReleaseStart[] = R"sql(
UPDATE rollout_starts SET token = '', claimed_at_micros = 0, rollout_id = ''
WHERE endpoint = $1 AND token = $2)sql";

using Txn = pqxx::transaction_base;

std::optional<RolloutState> StateOf(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return static_cast<RolloutState>(f.as<int>());
}

}  // namespace

absl::Status PgEndpointStore::Save(const EndpointRecord& e) {
  return pool_->WithTransaction(PgCallOptions{"kUpsertEndpoint"}, [&](Txn& txn) {
    std::optional<std::string> rollout_id;
    if (e.rollout) {
      const RolloutRecord& r = *e.rollout;
      rollout_id = r.rollout_id;
      txn.exec_params(kUpsertRollout, r.rollout_id, r.endpoint, r.model, r.origin,
                      pqxx::binarystring(r.spec_bytes), r.primary_version, r.candidate_version,
                      static_cast<int>(r.state), r.step, r.started_at_micros,
                      r.step_started_at_micros, r.finished_at_micros, r.started_by,
                      r.rollback_reason);
    }
    txn.exec_params(kUpsertEndpoint, e.endpoint, e.model, e.primary_version, e.previous_version,
                    rollout_id, e.updated_at_micros);
  });
}

absl::Status PgEndpointStore::ClaimRolloutStart(
    const std::string& endpoint, const std::string& token, int64_t now_micros,
    const std::function<absl::Status(const RolloutStartView&)>& decide) {
  absl::Status decided;
  absl::Status txn = pool_->WithTransaction(PgCallOptions{"kClaimStart"}, [&](Txn& t) {
    t.exec_params(kEnsureStartRow, endpoint);
    const pqxx::row row = t.exec_params1(kLockStart, endpoint);
    RolloutStartView view;
    view.claim_token = row[0].as<std::string>();
    view.claimed_at_micros = row[1].as<int64_t>();
    view.claimed_rollout_id = row[2].as<std::string>();
    view.claimed_rollout_state = StateOf(row[3]);
    view.current_rollout_id = row[4].is_null() ? "" : row[4].as<std::string>();
    view.current_rollout_state = StateOf(row[5]);
    decided = decide(view);
    if (decided.ok()) t.exec_params(kClaimStart, endpoint, token, now_micros);
  });
  MLOPS_RETURN_IF_ERROR(txn);
  return decided;
}

absl::Status PgEndpointStore::FinishRolloutStart(const std::string& endpoint,
                                                 const std::string& token,
                                                 const std::string& rollout_id) {
  return pool_->WithTransaction(PgCallOptions{"kFinishStart"}, [&](Txn& t) {
    if (rollout_id.empty()) {
      t.exec_params(kReleaseStart, endpoint, token);
    } else {
      t.exec_params(kFinishStart, endpoint, token, rollout_id);
    }
  });
}

absl::StatusOr<std::vector<EndpointRecord>> PgEndpointStore::LoadAll() {
  PgCallOptions call{"kSelectAll"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) {
    std::vector<EndpointRecord> out;
    for (const pqxx::row& row : txn.exec(kSelectAll)) {
      EndpointRecord e;
      e.endpoint = row[0].as<std::string>();
      e.model = row[1].as<std::string>();
      e.primary_version = row[2].as<int64_t>();
      e.previous_version = row[3].as<int64_t>();
      e.updated_at_micros = row[4].as<int64_t>();
      if (!row[5].is_null()) {
        RolloutRecord r;
        r.rollout_id = row[5].as<std::string>();
        r.endpoint = e.endpoint;
        r.origin = row[6].as<int>();
        pqxx::binarystring spec(row[7]);
        r.spec_bytes = spec.str();
        r.primary_version = row[8].as<int64_t>();
        r.candidate_version = row[9].as<int64_t>();
        r.state = static_cast<RolloutState>(row[10].as<int>());
        r.step = row[11].as<int>();
        r.started_at_micros = row[12].as<int64_t>();
        r.step_started_at_micros = row[13].as<int64_t>();
        r.finished_at_micros = row[14].as<int64_t>();
        r.started_by = row[15].as<std::string>();
        r.rollback_reason = row[16].as<std::string>();
        r.model = row[17].as<std::string>();
        e.rollout = std::move(r);
      }
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace mlops::gateway
