#include "services/monitoring/pg_monitoring_store.h"

#include <cstring>
#include <tuple>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/status/status_macros.h"
#include "common/db/copy_line_writer.h"
#include "pqxx/pqxx"
#include "services/monitoring/prediction_copy_text.h"
#include "services/monitoring/prediction_log_packing.h"

namespace mlops::monitoring {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kDeleteReference[] =
    "DELETE FROM model_references WHERE model = $1 AND version = $2";
constexpr char kInsertReference[] =
    "INSERT INTO model_references (model, version, reference, set_at_micros) "
    "VALUES ($1, $2, $3, $4)";
constexpr char kInsertSample[] =
    "INSERT INTO reference_samples (model, version, feature, value_count, vals) "
    "VALUES ($1, $2, $3, $4, $5)";
constexpr char kSelectReference[] =
    "SELECT reference, set_at_micros FROM model_references WHERE model = $1 AND "
    "version = $2";
constexpr char kSelectSamples[] =
    "SELECT feature, vals FROM reference_samples WHERE model = $1 AND version = $2 "
    "ORDER BY feature";
constexpr char kUpsertConfig[] =
    "INSERT INTO monitoring_configs (model, config, updated_at_micros) VALUES ($1, $2, $3) "
    "ON CONFLICT (model) DO UPDATE SET config = EXCLUDED.config, "
    "updated_at_micros = EXCLUDED.updated_at_micros";
constexpr char kSelectConfig[] = "SELECT config FROM monitoring_configs WHERE model = $1";
constexpr char kUpsertPolicy[] =
    "INSERT INTO alert_policies (model, name, policy, updated_at_micros) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT (model, name) DO UPDATE SET "
    "policy = EXCLUDED.policy, updated_at_micros = EXCLUDED.updated_at_micros";
constexpr char kListPolicies[] =
    "SELECT model, name, policy FROM alert_policies WHERE ($1 = '' OR model = $1) "
    "AND (model, name) > ($2, $3) ORDER BY model, name LIMIT $4";
constexpr char kSelectPolicy[] = "SELECT policy FROM alert_policies WHERE model = $1 AND name = $2";
constexpr char kDeletePolicy[] = "DELETE FROM alert_policies WHERE model = $1 AND name = $2";
constexpr char kInsertBatch[] =
    "INSERT INTO prediction_batches (model, version, endpoint, variant, row_count, "
    "min_timestamp_micros, max_timestamp_micros, meta, features, writer) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING batch_id";

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

// Sample values as little-endian float64 bytes (the host's order; x86-64 and
// aarch64 are little-endian).
std::string EncodeDoubles(const std::vector<double>& v) {
  std::string out(v.size() * sizeof(double), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

std::vector<double> DecodeDoubles(const std::string& bytes) {
  std::vector<double> v(bytes.size() / sizeof(double));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  return v;
}

}  // namespace

absl::Status PgMonitoringStore::PutReference(const StoredReference& r) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_put_reference"}, [&](Txn& txn) {
    txn.exec_params(kDeleteReference, r.model, r.version);
    txn.exec_params(kInsertReference, r.model, r.version, pqxx::binarystring(r.reference),
                    r.set_at_micros);
    for (const auto& [feature, values] : r.samples) {
      txn.exec_params(kInsertSample, r.model, r.version, feature,
                      static_cast<int64_t>(values.size()),
                      pqxx::binarystring(EncodeDoubles(values)));
    }
  });
}

absl::StatusOr<std::optional<StoredReference>> PgMonitoringStore::GetReference(
    const std::string& model, int64_t version) {
  PgCallOptions call{"monitoring_get_reference"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::optional<StoredReference>> {
        pqxx::result r = txn.exec_params(kSelectReference, model, version);
        if (r.empty()) return std::optional<StoredReference>();
        StoredReference out;
        out.model = model;
        out.version = version;
        out.reference = Bytes(r[0][0]);
        out.set_at_micros = r[0][1].as<int64_t>();
        for (const pqxx::row& s : txn.exec_params(kSelectSamples, model, version)) {
          out.samples.emplace_back(s[0].as<std::string>(), DecodeDoubles(Bytes(s[1])));
        }
        return std::optional<StoredReference>(std::move(out));
      });
}

absl::Status PgMonitoringStore::PutConfig(const std::string& model, const std::string& config,
                                          int64_t updated_at_micros) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_put_config"}, [&](Txn& txn) {
    txn.exec_params(kUpsertConfig, model, pqxx::binarystring(config), updated_at_micros);
  });
}

absl::StatusOr<std::optional<std::string>> PgMonitoringStore::GetConfig(const std::string& model) {
  PgCallOptions call{"monitoring_get_config"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::optional<std::string>> {
    pqxx::result r = txn.exec_params(kSelectConfig, model);
    if (r.empty()) return std::optional<std::string>();
    return std::optional<std::string>(Bytes(r[0][0]));
  });
}

absl::Status PgMonitoringStore::PutPolicy(const StoredPolicy& p, int64_t updated_at_micros) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_put_policy"}, [&](Txn& txn) {
    txn.exec_params(kUpsertPolicy, p.model, p.name, pqxx::binarystring(p.policy),
                    updated_at_micros);
  });
}

absl::StatusOr<std::vector<StoredPolicy>> PgMonitoringStore::ListPolicies(
    const std::string& model, const std::string& after_model, const std::string& after_name,
    int limit) {
  PgCallOptions call{"monitoring_list_policies"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::vector<StoredPolicy>> {
    std::vector<StoredPolicy> out;
    for (const pqxx::row& r :
         txn.exec_params(kListPolicies, model, after_model, after_name, limit)) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), Bytes(r[2])});
    }
    return out;
  });
}

absl::StatusOr<std::optional<StoredPolicy>> PgMonitoringStore::GetPolicy(const std::string& model,
                                                                         const std::string& name) {
  PgCallOptions call{"monitoring_get_policy"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::optional<StoredPolicy>> {
    pqxx::result r = txn.exec_params(kSelectPolicy, model, name);
    if (r.empty()) return std::optional<StoredPolicy>();
    return std::optional<StoredPolicy>(StoredPolicy{model, name, Bytes(r[0][0])});
  });
}

absl::StatusOr<bool> PgMonitoringStore::DeletePolicy(const std::string& model,
                                                     const std::string& name) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_delete_policy"},
                                [&](Txn& txn) -> absl::StatusOr<bool> {
                                  pqxx::result r = txn.exec_params(kDeletePolicy, model, name);
                                  return r.affected_rows() > 0;
                                });
}

absl::Status PgMonitoringStore::AppendPredictions(const std::vector<PredictionLogBatch>& batches,
                                                int writer) {
  size_t rows = 0;
  for (const PredictionLogBatch& b : batches) rows += b.size();
  if (rows == 0) return absl::OkStatus();
  // Packed outside the transaction (no connection held meanwhile).
  std::vector<PackedPredictionBatch> packed;
  packed.reserve(batches.size());
  for (const PredictionLogBatch& b : batches) packed.push_back(PackPredictionBatch(b));
  return pool_->WithTransaction(PgCallOptions{"monitoring_append_predictions"}, [&](Txn& txn) {
    // One row per batch (bytea sent as binary parameters), then every
    // batch's request ids in one COPY into the writer's own partition.
    std::vector<int64_t> ids(batches.size(), 0);
    for (size_t k = 0; k < batches.size(); ++k) {
      const PredictionLogBatch& b = batches[k];
      if (b.size() == 0) continue;
      const PackedPredictionBatch& p = packed[k];
      ids[k] = txn.exec_params1(kInsertBatch, b.model(), b.version(), b.endpoint(), b.variant(),
                                static_cast<int64_t>(b.size()), p.min_timestamp_micros,
                                p.max_timestamp_micros, pqxx::binarystring(p.meta),
                                pqxx::binarystring(p.features),
                                PredictionRequestPartitionIndex(writer))[0]
                   .as<int64_t>();
    }
    const std::vector<std::string> columns(std::begin(kPredictionRequestCopyColumns),
                                           std::end(kPredictionRequestCopyColumns));
    CopyLineWriter copy(txn, PredictionRequestPartition(writer), columns);
    constexpr size_t kChunkBytes = 1 << 20;
    std::string chunk;
    chunk.reserve(kChunkBytes + (512 << 10));
    auto send = [&] {
      if (chunk.empty()) return;
      chunk.pop_back();  // Write adds the last '\n'
      copy.Write(chunk);
      chunk.clear();
    };
    for (size_t k = 0; k < batches.size(); ++k) {
      if (batches[k].size() == 0) continue;
      AppendPredictionRequestCopyLines(batches[k], ids[k], &chunk);
      if (chunk.size() >= kChunkBytes) send();
    }
    send();
    copy.Complete();
  });
}

}  // namespace mlops::monitoring
