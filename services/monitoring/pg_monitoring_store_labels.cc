// PgMonitoringStore: ground truth and the performance query.
#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/status/status_macros.h"
#include "pqxx/pqxx"
#include "services/monitoring/performance_groups.h"
#include "services/monitoring/pg_array_literal.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/prediction_log_packing.h"

namespace mlops::monitoring {
namespace {

using Txn = pqxx::transaction_base;

constexpr char kUpsertLabel[] =
    "INSERT INTO ground_truth (request_id, model, label_kind, label_number, label_text, "
    "label_at_micros, received_at_micros) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (request_id, model) DO UPDATE SET label_kind = EXCLUDED.label_kind, "
    "label_number = EXCLUDED.label_number, label_text = EXCLUDED.label_text, "
    "label_at_micros = EXCLUDED.label_at_micros, "
    "received_at_micros = EXCLUDED.received_at_micros, expired_at_micros = 0 "
    "RETURNING (xmax::text <> '0')";
// The prediction log (migration 0003): request ids in prediction_requests,
// each message's rows packed in one prediction_batches row.
constexpr char kFindPredictions[] =
    "SELECT r.request_id, b.model, bool_or(r.classified) FROM prediction_requests r "
    "JOIN prediction_batches b ON b.batch_id = r.batch_id "
    "WHERE r.request_id = ANY($1::text[]) GROUP BY 1, 2";
constexpr char kExpireLabel[] =
    "UPDATE ground_truth SET expired_at_micros = $3 WHERE request_id = $1 AND model = $2 "
    "AND expired_at_micros = 0";
constexpr char kPendingLabels[] =
    "SELECT g.request_id, g.model, g.received_at_micros FROM ground_truth g "
    "WHERE g.expired_at_micros = 0 AND NOT EXISTS (SELECT 1 FROM prediction_requests r "
    "JOIN prediction_batches b ON b.batch_id = r.batch_id "
    "WHERE r.request_id = g.request_id AND (g.model = '' OR b.model = g.model)) "
    "ORDER BY g.received_at_micros, g.request_id, g.model LIMIT $1";
constexpr char kCountExpired[] =
    "SELECT count(*) FROM ground_truth WHERE model IN ('', $1) AND expired_at_micros > 0 "
    "AND expired_at_micros >= $2::bigint AND expired_at_micros < $3::bigint";
// The batches holding rows of the query (through prediction_batches_time),
// then their packed columns but the features, kBatchesPerPage at a time.
constexpr char kPerformanceBatchIds[] =
    "SELECT batch_id FROM prediction_batches "
    "WHERE model = $1 AND ($2::bigint = 0 OR version = $2::bigint) "
    "AND max_timestamp_micros >= $3::bigint AND min_timestamp_micros < $4::bigint "
    "ORDER BY batch_id";
constexpr char kPerformanceBatches[] =
    "SELECT batch_id, version, endpoint, variant, row_count, meta FROM prediction_batches "
    "WHERE batch_id = ANY($1::bigint[]) ORDER BY batch_id";
constexpr size_t kBatchesPerPage = 64;
// The labels joining predictions of model $2 among request ids $1; a
// request id's model-less label ('') comes before the model's own.
constexpr char kJoinedLabels[] =
    "SELECT request_id, label_kind, label_number, label_text FROM ground_truth "
    "WHERE request_id = ANY($1::text[]) AND model IN ('', $2) AND expired_at_micros = 0 "
    "ORDER BY request_id, model";

}  // namespace

absl::StatusOr<std::vector<bool>> PgMonitoringStore::PutLabels(
    const std::vector<StoredLabel>& labels) {
  return pool_->WithTransaction(PgCallOptions{"monitoring_put_labels"},
                                [&](Txn& txn) -> absl::StatusOr<std::vector<bool>> {
                                  std::vector<bool> updated;
                                  updated.reserve(labels.size());
                                  for (const StoredLabel& l : labels) {
                                    pqxx::result r = txn.exec_params(
                                        kUpsertLabel, l.request_id, l.model,
                                        static_cast<int>(l.label.kind), l.label.number,
                                        l.label.text, l.label_at_micros, l.received_at_micros);
                                    updated.push_back(r[0][0].as<bool>());
                                  }
                                  return updated;
                                });
}

absl::StatusOr<std::vector<KnownPrediction>> PgMonitoringStore::FindPredictions(
    const std::vector<std::string>& request_ids) {
  PgCallOptions call{"monitoring_find_predictions"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::vector<KnownPrediction>> {
        std::vector<KnownPrediction> out;
        for (const pqxx::row& r : txn.exec_params(kFindPredictions, TextArrayLiteral(request_ids))) {
          out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<bool>()});
        }
        return out;
      });
}

absl::Status PgMonitoringStore::MarkLabelsExpired(const std::vector<PendingLabelKey>& keys,
                                                  int64_t now_micros) {
  if (keys.empty()) return absl::OkStatus();
  return pool_->WithTransaction(PgCallOptions{"monitoring_expire_labels"}, [&](Txn& txn) {
    for (const PendingLabelKey& k : keys) {
      txn.exec_params(kExpireLabel, k.request_id, k.model, now_micros);
    }
  });
}

absl::StatusOr<std::vector<StoredPendingLabel>> PgMonitoringStore::ListPendingLabels(
    int64_t limit) {
  PgCallOptions call{"monitoring_list_pending_labels"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<std::vector<StoredPendingLabel>> {
    std::vector<StoredPendingLabel> out;
    for (const auto& row : txn.exec_params(kPendingLabels, limit)) {
      out.push_back({{row[0].as<std::string>(), row[1].as<std::string>()}, row[2].as<int64_t>()});
    }
    return out;
  });
}

absl::StatusOr<int64_t> PgMonitoringStore::CountExpiredLabels(const std::string& model,
                                                              int64_t start_micros,
                                                              int64_t end_micros) {
  PgCallOptions call{"monitoring_count_expired_labels"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<int64_t> {
    return txn.exec_params1(kCountExpired, model, start_micros, end_micros)[0].as<int64_t>();
  });
}

absl::StatusOr<std::vector<PerformanceGroup>> PgMonitoringStore::QueryPerformance(
    const PerformanceQuery& q) {
  PgCallOptions call{"monitoring_query_performance"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::vector<PerformanceGroup>> {
        PerformanceAccumulator groups(q);
        std::vector<int64_t> batch_ids;
        for (const pqxx::row& r : txn.exec_params(kPerformanceBatchIds, q.model, q.version,
                                                  q.start_micros, q.end_micros)) {
          batch_ids.push_back(r[0].as<int64_t>());
        }
        for (size_t first = 0; first < batch_ids.size(); first += kBatchesPerPage) {
          std::string page_ids = "{";
          for (size_t k = first; k < std::min(batch_ids.size(), first + kBatchesPerPage); ++k) {
            if (k > first) page_ids += ',';
            page_ids += std::to_string(batch_ids[k]);
          }
          page_ids += '}';
          std::vector<PredictionLogBatch> batches;
          for (const pqxx::row& r : txn.exec_params(kPerformanceBatches, page_ids)) {
            const PredictionBatchKey key{q.model, r[1].as<int64_t>(), r[2].as<std::string>(),
                                         r[3].as<int32_t>()};
            const std::string meta = pqxx::binarystring(r[5]).str();
            MLOPS_ASSIGN_OR_RETURN(
                PredictionLogBatch b,
                UnpackPredictionBatch(key, r[4].as<size_t>(), meta, std::string_view()));
            batches.push_back(std::move(b));
          }
          std::vector<std::string> ids;
          for (const PredictionLogBatch& b : batches) {
            for (size_t i = 0; i < b.size(); ++i) {
              if (groups.Selects(b, i)) ids.emplace_back(b.request_id(i));
            }
          }
          std::vector<std::pair<std::string, LabelValue>> found;
          if (!ids.empty()) {
            for (const pqxx::row& r :
                 txn.exec_params(kJoinedLabels, TextArrayLiteral(ids), q.model)) {
              LabelValue label;
              label.kind = static_cast<LabelValue::Kind>(r[1].as<int>());
              label.number = r[2].as<double>();
              label.text = r[3].as<std::string>();
              found.emplace_back(r[0].as<std::string>(), std::move(label));
            }
          }
          // The model's own label replaces the model-less one (after it).
          std::unordered_map<std::string_view, LabelValue> labels;
          for (const auto& [id, label] : found) labels[id] = label;
          for (const PredictionLogBatch& b : batches) groups.Add(b, labels);
        }
        return groups.Finish();
      });
}

}  // namespace mlops::monitoring
