// PgMonitoringStore: ground truth and the performance query.
#include <map>
#include <utility>

#include "pqxx/pqxx"
#include "services/monitoring/pg_monitoring_store.h"

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
constexpr char kFindPredictions[] =
    "SELECT request_id, model, bool_or(predicted_label <> '') FROM prediction_log "
    "WHERE request_id = ANY($1::text[]) GROUP BY request_id, model";
constexpr char kExpireLabel[] =
    "UPDATE ground_truth SET expired_at_micros = $3 WHERE request_id = $1 AND model = $2 "
    "AND expired_at_micros = 0";
constexpr char kPendingLabels[] =
    "SELECT g.request_id, g.model, g.received_at_micros FROM ground_truth g "
    "WHERE g.expired_at_micros = 0 AND NOT EXISTS (SELECT 1 FROM prediction_log p "
    "WHERE p.request_id = g.request_id AND (g.model = '' OR p.model = g.model)) "
    "ORDER BY g.received_at_micros, g.request_id, g.model LIMIT $1";
constexpr char kCountExpired[] =
    "SELECT count(*) FROM ground_truth WHERE model IN ('', $1) AND expired_at_micros > 0 "
    "AND expired_at_micros >= $2::bigint AND expired_at_micros < $3::bigint";
// $5 = window size (0: one group per version, starting at $3).
constexpr char kPerformanceGroups[] =
    "SELECT version, CASE WHEN $5::bigint = 0 THEN $3::bigint "
    "ELSE timestamp_micros - mod(timestamp_micros, NULLIF($5::bigint, 0)) END AS ws, "
    "count(*), count(*) FILTER (WHERE error_code <> ''), "
    "percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_micros), "
    "percentile_disc(0.99) WITHIN GROUP (ORDER BY latency_micros) "
    "FROM prediction_log WHERE model = $1 AND ($2::bigint = 0 OR version = $2::bigint) "
    "AND timestamp_micros >= $3::bigint AND timestamp_micros < $4::bigint "
    "GROUP BY 1, 2 ORDER BY 1, 2";
// Each prediction joined to its label: the model's own label first, else the
// model-less one.
constexpr char kPerformancePairs[] =
    "SELECT p.version, CASE WHEN $5::bigint = 0 THEN $3::bigint "
    "ELSE p.timestamp_micros - mod(p.timestamp_micros, NULLIF($5::bigint, 0)) END AS ws, "
    "p.score, p.predicted_label, g.label_kind, g.label_number, g.label_text "
    "FROM prediction_log p JOIN LATERAL (SELECT label_kind, label_number, label_text "
    "FROM ground_truth g WHERE g.request_id = p.request_id AND g.model IN ('', p.model) "
    "AND g.expired_at_micros = 0 ORDER BY g.model DESC LIMIT 1) g ON true "
    "WHERE p.model = $1 AND ($2::bigint = 0 OR p.version = $2::bigint) "
    "AND p.timestamp_micros >= $3::bigint AND p.timestamp_micros < $4::bigint";

// A Postgres text[] literal: {"a","b"} with backslash and quote escaped.
std::string TextArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

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
        std::vector<PerformanceGroup> groups;
        std::map<std::pair<int64_t, int64_t>, size_t> index;
        for (const pqxx::row& r : txn.exec_params(kPerformanceGroups, q.model, q.version,
                                                  q.start_micros, q.end_micros,
                                                  q.window_micros)) {
          PerformanceGroup g;
          g.version = r[0].as<int64_t>();
          g.window_start_micros = r[1].as<int64_t>();
          g.predictions = r[2].as<int64_t>();
          g.errors = r[3].as<int64_t>();
          g.p50_latency_micros = r[4].as<int64_t>();
          g.p99_latency_micros = r[5].as<int64_t>();
          index[{g.version, g.window_start_micros}] = groups.size();
          groups.push_back(std::move(g));
        }
        for (const pqxx::row& r : txn.exec_params(kPerformancePairs, q.model, q.version,
                                                  q.start_micros, q.end_micros,
                                                  q.window_micros)) {
          auto it = index.find({r[0].as<int64_t>(), r[1].as<int64_t>()});
          if (it == index.end()) continue;  // not possible: same filter
          PerformanceGroup& g = groups[it->second];
          LabelledPrediction p;
          if (!r[2].is_null()) p.score = r[2].as<double>();
          p.predicted_label = r[3].as<std::string>();
          p.label.kind = static_cast<LabelValue::Kind>(r[4].as<int>());
          p.label.number = r[5].as<double>();
          p.label.text = r[6].as<std::string>();
          ++g.labelled;
          g.pairs.push_back(std::move(p));
        }
        return groups;
      });
}

}  // namespace mlops::monitoring
