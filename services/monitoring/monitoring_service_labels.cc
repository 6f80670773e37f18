// MonitoringServiceImpl: LogGroundTruth and GetPerformance.
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/token.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

constexpr int kMaxLabelsPerRequest = 10'000;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// The label as stored; nullopt for a kind labels cannot have (TIMESTAMP).
std::optional<LabelValue> LabelOf(const common::v1::Value& v) {
  LabelValue l;
  switch (v.kind_case()) {
    case common::v1::Value::kInt64Value:
      l.kind = LabelValue::Kind::kInt64;
      l.number = static_cast<double>(v.int64_value());
      l.text = std::to_string(v.int64_value());
      return l;
    case common::v1::Value::kDoubleValue:
      l.kind = LabelValue::Kind::kDouble;
      l.number = v.double_value();
      return l;
    case common::v1::Value::kStringValue:
      l.kind = LabelValue::Kind::kString;
      l.text = v.string_value();
      return l;
    case common::v1::Value::kBoolValue:
      l.kind = LabelValue::Kind::kBool;
      l.number = v.bool_value() ? 1 : 0;
      return l;
    default:
      return std::nullopt;
  }
}

absl::Status ValidateLabels(const v1::LogGroundTruthRequest& req) {
  if (req.labels_size() < 1 || req.labels_size() > kMaxLabelsPerRequest) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: ", req.labels_size(), " labels; 1 .. 10,000 allowed"));
  }
  for (int i = 0; i < req.labels_size(); ++i) {
    const v1::GroundTruth& g = req.labels(i);
    if (g.request_id().empty() || g.request_id().size() > kMaxRequestIdLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels[", i, "].request_id: empty or over 128 chars"));
    }
    if (g.label().kind_case() == common::v1::Value::KIND_NOT_SET) {
      return absl::InvalidArgumentError(absl::StrCat("labels[", i, "].label: NULL"));
    }
    if (!g.model().empty()) {
      MLOPS_RETURN_IF_ERROR(ingestion::ValidateName(absl::StrCat("labels[", i, "].model"),
                                                    g.model()));
    }
  }
  return absl::OkStatus();
}

// Page tokens of GetPerformance: "<version>/<window start>" of the last row.
absl::Status ParsePerformanceToken(const std::string& token, std::pair<int64_t, int64_t>* after) {
  if (token.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(token, '/');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &after->first) ||
      !absl::SimpleAtoi(parts[1], &after->second)) {
    return absl::InvalidArgumentError("page.page_token: not a token of this list");
  }
  return absl::OkStatus();
}

void PerformanceToProto(const PerformanceGroup& g, int64_t window_end, v1::PerformanceWindow* out) {
  out->set_version(g.version);
  out->set_window_start_micros(g.window_start_micros);
  out->set_window_end_micros(window_end);
  out->set_predictions(g.predictions);
  out->set_labelled(g.labelled);
  out->set_label_coverage(g.predictions == 0 ? 0
                                             : static_cast<double>(g.labelled) /
                                                   static_cast<double>(g.predictions));
  const QualityMetrics q = ComputeQuality(g.pairs);
  if (q.accuracy.has_value()) out->set_accuracy(*q.accuracy);
  if (q.auc.has_value()) out->set_auc(*q.auc);
  if (q.log_loss.has_value()) out->set_log_loss(*q.log_loss);
  if (q.rmse.has_value()) out->set_rmse(*q.rmse);
  if (q.mae.has_value()) out->set_mae(*q.mae);
  out->set_error_rate(g.predictions == 0 ? 0
                                         : static_cast<double>(g.errors) /
                                               static_cast<double>(g.predictions));
  out->set_p50_latency_micros(g.p50_latency_micros);
  out->set_p99_latency_micros(g.p99_latency_micros);
}

}  // namespace

absl::Status MonitoringServiceImpl::RecordExpired(const std::vector<PendingLabelKey>& keys) {
  if (keys.empty()) return absl::OkStatus();
  counters_->Labels("expired", static_cast<int64_t>(keys.size()));
  return store_->MarkLabelsExpired(keys, Now());
}

absl::Status MonitoringServiceImpl::ExpireLabels() { return RecordExpired(pending_.Expire(Now())); }

absl::Status MonitoringServiceImpl::LoadPendingLabels() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<StoredPendingLabel> stored,
                         store_->ListPendingLabels(2 * options_.max_pending_labels));
  std::vector<PendingLabelKey> dropped;
  for (const StoredPendingLabel& label : stored) {
    MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig config, Config(label.key.model));
    const int64_t ttl = EffectiveConfig(config).label_ttl_micros();
    for (PendingLabelKey& d : pending_.Add(label.key, label.received_at_micros + ttl)) {
      dropped.push_back(std::move(d));
    }
  }
  LogInfo("pending_labels_loaded", {{"labels", std::to_string(stored.size())}});
  MLOPS_RETURN_IF_ERROR(RecordExpired(dropped));
  return ExpireLabels();
}

absl::Status MonitoringServiceImpl::DoLogGroundTruth(const v1::LogGroundTruthRequest& req,
                                                     v1::LogGroundTruthResponse* resp) {
  MLOPS_RETURN_IF_ERROR(ValidateLabels(req));
  const int64_t now = Now();
  // Predictions logged before this call are then visible to the lookup.
  MLOPS_RETURN_IF_ERROR(writer_->Flush());
  std::vector<std::string> ids;
  for (const v1::GroundTruth& g : req.labels()) ids.push_back(g.request_id());
  MLOPS_ASSIGN_OR_RETURN(std::vector<KnownPrediction> known, store_->FindPredictions(ids));
  std::multimap<std::string, const KnownPrediction*> by_id;
  for (const KnownPrediction& k : known) by_id.emplace(k.request_id, &k);

  std::vector<StoredLabel> labels;
  std::vector<bool> joined;
  resp->set_first_rejected_index(-1);
  for (int i = 0; i < req.labels_size(); ++i) {
    const v1::GroundTruth& g = req.labels(i);
    std::optional<LabelValue> label = LabelOf(g.label());
    bool matched = false;
    bool mismatch = !label.has_value();
    auto [first, last] = by_id.equal_range(g.request_id());
    for (auto it = first; it != last && label.has_value(); ++it) {
      if (!g.model().empty() && it->second->model != g.model()) continue;
      matched = true;
      // A regression value for a classifier's prediction does not fit.
      if (label->kind == LabelValue::Kind::kDouble && it->second->classification) mismatch = true;
    }
    if (mismatch) {
      resp->set_rejected(resp->rejected() + 1);
      if (resp->first_rejected_index() < 0) resp->set_first_rejected_index(i);
      continue;
    }
    labels.push_back({g.request_id(), g.model(), *std::move(label),
                      g.label_at_micros() == 0 ? now : g.label_at_micros(), now});
    joined.push_back(matched);
  }
  MLOPS_ASSIGN_OR_RETURN(std::vector<bool> updated, store_->PutLabels(labels));
  std::vector<PendingLabelKey> dropped;
  for (size_t i = 0; i < labels.size(); ++i) {
    const PendingLabelKey key{labels[i].request_id, labels[i].model};
    if (joined[i]) {
      pending_.Resolve(key.request_id, key.model);
    } else {
      MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig config, Config(key.model));
      const int64_t ttl = EffectiveConfig(config).label_ttl_micros();
      for (PendingLabelKey& d : pending_.Add(key, now + ttl)) dropped.push_back(std::move(d));
    }
    if (updated[i]) {
      resp->set_updated(resp->updated() + 1);
    } else if (joined[i]) {
      resp->set_joined(resp->joined() + 1);
    } else {
      resp->set_pending(resp->pending() + 1);
    }
  }
  resp->set_accepted(static_cast<int64_t>(labels.size()));
  counters_->Labels("joined", resp->joined());
  counters_->Labels("pending", resp->pending());
  counters_->Labels("updated", resp->updated());
  counters_->Labels("rejected", resp->rejected());
  MLOPS_RETURN_IF_ERROR(RecordExpired(dropped));
  return ExpireLabels();
}

grpc::Status MonitoringServiceImpl::LogGroundTruth(grpc::ServerContext* ctx,
                                                   const v1::LogGroundTruthRequest* req,
                                                   v1::LogGroundTruthResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return Reply("LogGroundTruth", who.status());
  return Reply("LogGroundTruth", DoLogGroundTruth(*req, resp));
}

absl::Status MonitoringServiceImpl::DoGetPerformance(const v1::GetPerformanceRequest& req,
                                                     v1::GetPerformanceResponse* resp) {
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("model", req.model()));
  if (req.version() < 0) return absl::InvalidArgumentError("version: negative");
  const int64_t now = Now();
  int64_t start = req.range().start_micros();
  int64_t end = req.range().end_micros();
  if (!req.has_range() || (start == 0 && end == 0)) {
    start = now - kDayMicros;
    end = now;
  }
  if (end == 0) end = std::numeric_limits<int64_t>::max();
  if (start > end) return absl::InvalidArgumentError("range: start_micros after end_micros");
  std::pair<int64_t, int64_t> after{-1, 0};
  MLOPS_RETURN_IF_ERROR(ParsePerformanceToken(req.page().page_token(), &after));
  int size = req.page().page_size();
  if (size <= 0) size = kDefaultPageSize;
  if (size > kMaxPageSize) size = kMaxPageSize;

  MLOPS_RETURN_IF_ERROR(writer_->Flush());
  MLOPS_RETURN_IF_ERROR(ExpireLabels());
  MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig config, Config(req.model()));
  const int64_t w = req.aggregate() ? 0 : EffectiveConfig(config).window_micros();
  MLOPS_ASSIGN_OR_RETURN(std::vector<PerformanceGroup> groups,
                         store_->QueryPerformance({req.model(), req.version(), start, end, w}));
  int emitted = 0;
  for (const PerformanceGroup& g : groups) {
    if (std::make_pair(g.version, g.window_start_micros) <= after) continue;
    if (emitted == size) {
      const v1::PerformanceWindow& last = resp->windows(resp->windows_size() - 1);
      resp->set_next_page_token(absl::StrCat(last.version(), "/", last.window_start_micros()));
      break;
    }
    PerformanceToProto(g, w == 0 ? std::min(end, now) : g.window_start_micros + w,
                       resp->add_windows());
    ++emitted;
  }
  resp->set_pending_labels(pending_.CountFor(req.model()));
  MLOPS_ASSIGN_OR_RETURN(int64_t expired, store_->CountExpiredLabels(req.model(), start, end));
  resp->set_expired_labels(expired);
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::GetPerformance(grpc::ServerContext* ctx,
                                                   const v1::GetPerformanceRequest* req,
                                                   v1::GetPerformanceResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("GetPerformance", who.status());
  return Reply("GetPerformance", DoGetPerformance(*req, resp));
}

}  // namespace mlops::monitoring
