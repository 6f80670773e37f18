// MonitoringServiceImpl as the alert loop's metric source: a policy's metric
// for one version over the last closed monitoring windows covering the
// policy's window. Drift from the in-memory windows and the reference (never
// raw rows), latency and error rate from the windows, label metrics from the
// joined labels in Postgres.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

bool IsDriftMetric(v1::AlertMetric m) {
  return m == v1::ALERT_METRIC_FEATURE_DRIFT || m == v1::ALERT_METRIC_PREDICTION_DRIFT ||
         m == v1::ALERT_METRIC_DATASET_DRIFT_SHARE;
}

bool IsLabelMetric(v1::AlertMetric m) {
  return m == v1::ALERT_METRIC_ACCURACY || m == v1::ALERT_METRIC_AUC ||
         m == v1::ALERT_METRIC_RMSE;
}

// Nearest-rank percentile (q in (0, 1]) of `values` (copied and partially sorted).
int64_t Percentile(std::vector<int64_t> values, double q) {
  if (values.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

// The drift report's entry for the policy's feature (or the prediction).
const v1::FeatureDrift* DriftEntry(const v1::AlertPolicy& p, const v1::DriftReport& r) {
  if (p.metric() == v1::ALERT_METRIC_PREDICTION_DRIFT) return &r.prediction();
  for (const v1::FeatureDrift& f : r.features()) {
    if (f.feature() == p.feature()) return &f;
  }
  return nullptr;
}

// Drift-score gauges stay bounded: this many models, features per model.
constexpr size_t kMaxGaugedModels = 100;
constexpr int kMaxGaugedFeatures = 200;

}  // namespace

void MonitoringServiceImpl::AfterRound(int64_t now_micros) {
  absl::Status s = ExpireLabels();
  if (!s.ok()) LogWarn("label_expiry_failed", {{"status", s.ToString()}});
  if (options_.drift_gauges == nullptr) return;
  std::vector<std::string> models = windows_->Models();
  if (models.size() > kMaxGaugedModels) models.resize(kMaxGaugedModels);
  for (const std::string& model : models) {
    std::optional<int64_t> version = windows_->LatestVersion(model);
    if (!version.has_value()) continue;
    std::optional<int64_t> start = windows_->LatestWindowStart(model, *version, now_micros, false);
    if (!start.has_value()) continue;
    auto& last = gauged_windows_[model];
    if (last == std::make_pair(*version, *start)) continue;  // nothing new closed
    absl::StatusOr<std::shared_ptr<const LoadedReference>> ref = Reference(model, *version);
    absl::StatusOr<v1::MonitoringConfig> config = Config(model);
    if (!ref.ok() || *ref == nullptr || !config.ok()) continue;  // only models with a reference
    const v1::MonitoringConfig effective = EffectiveConfig(*config);
    int merged = 0;
    absl::StatusOr<WindowData> window =
        windows_->Merge(model, *version, *start, *start + effective.window_micros(), &merged);
    if (!window.ok()) continue;
    v1::DriftReport proto;
    DriftReportToProto(
        ComputeWindowDrift((*ref)->data, *window, {}, DriftSettingsFromConfig(effective)),
        /*omit_histograms=*/true, &proto);
    last = {*version, *start};
    for (int i = 0; i < proto.features_size() && i < kMaxGaugedFeatures; ++i) {
      if (proto.features(i).computed()) {
        options_.drift_gauges->SetDriftScore(model, proto.features(i).feature(),
                                             proto.features(i).statistic());
      }
    }
    if (proto.prediction().computed()) {
      options_.drift_gauges->SetDriftScore(model, kPredictionFeature,
                                           proto.prediction().statistic());
    }
  }
}

std::vector<int64_t> MonitoringServiceImpl::ActiveVersions(const std::string& model) {
  return windows_->Versions(model);
}

absl::StatusOr<std::optional<MetricValue>> MonitoringServiceImpl::Measure(
    const v1::AlertPolicy& policy, int64_t version, int64_t now_micros, bool open_window) {
  const std::optional<MetricValue> none;
  if (open_window && IsLabelMetric(policy.metric())) return none;  // labels come later
  MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig stored_config, Config(policy.model()));
  const v1::MonitoringConfig config = EffectiveConfig(stored_config);
  const int64_t w = config.window_micros();
  const int64_t windows = std::max<int64_t>(1, (policy.window_micros() + w - 1) / w);
  MetricValue m;
  m.window_end_micros = now_micros / w * w;  // closed windows only
  m.window_start_micros = m.window_end_micros - windows * w;
  // The open span: the closed span plus the open window, so it never holds
  // fewer predictions than the closed one (a partial window alone, with a
  // few hundred predictions, flags noise: a false alarm in the benchmark).
  if (open_window) m.window_end_micros += w;
  m.open_window = open_window;

  if (IsLabelMetric(policy.metric())) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<PerformanceGroup> groups,
                           store_->QueryPerformance({policy.model(), version,
                                                     m.window_start_micros, m.window_end_micros,
                                                     0}));
    if (groups.empty()) return none;
    const QualityMetrics q = ComputeQuality(groups[0].pairs);
    m.samples = q.labelled;
    std::optional<double> value;
    switch (policy.metric()) {
      case v1::ALERT_METRIC_ACCURACY:
        value = q.accuracy;
        m.what = "accuracy";
        break;
      case v1::ALERT_METRIC_AUC:
        value = q.auc;
        m.what = "AUC";
        break;
      default:
        value = q.rmse;
        m.what = "RMSE";
    }
    if (!value.has_value()) return none;
    m.value = *value;
    return m;
  }

  int merged = 0;
  absl::StatusOr<WindowData> window =
      windows_->Merge(policy.model(), version, m.window_start_micros, m.window_end_micros, &merged);
  if (absl::IsNotFound(window.status())) return none;
  if (!window.ok()) return window.status();
  m.samples = window->rows;
  if (policy.metric() == v1::ALERT_METRIC_P99_LATENCY) {
    m.value = static_cast<double>(Percentile(window->latencies_micros, 0.99));
    m.what = "p99 latency (micros)";
    return m;
  }
  if (policy.metric() == v1::ALERT_METRIC_ERROR_RATE) {
    m.value = window->rows == 0 ? 0
                                : static_cast<double>(window->errors) /
                                      static_cast<double>(window->rows);
    m.what = "error rate";
    return m;
  }
  if (!IsDriftMetric(policy.metric())) return none;
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedReference> ref,
                         Reference(policy.model(), version));
  if (ref == nullptr) return none;  // drift waits for a reference
  std::vector<std::string> features;
  if (policy.metric() == v1::ALERT_METRIC_FEATURE_DRIFT) {
    if (ref->data.profile.Find(policy.feature()) == nullptr) return none;
    features.push_back(policy.feature());
  }
  const WindowDriftReport report =
      ComputeWindowDrift(ref->data, *window, features, DriftSettingsFromConfig(config));
  v1::DriftReport proto;
  DriftReportToProto(report, /*omit_histograms=*/true, &proto);
  if (policy.metric() == v1::ALERT_METRIC_DATASET_DRIFT_SHARE) {
    if (proto.computed_count() == 0) return none;
    m.value = proto.drift_share();
    m.drifted = proto.dataset_drift();
    m.what = "dataset drift share";
    return m;
  }
  const v1::FeatureDrift* f = DriftEntry(policy, proto);
  if (f == nullptr || !f->computed()) return none;
  m.value = f->statistic();
  m.drifted = f->drifted();
  m.what = absl::StrCat(policy.metric() == v1::ALERT_METRIC_PREDICTION_DRIFT
                            ? std::string("prediction")
                            : absl::StrCat("feature ", policy.feature()),
                        " drift (", v1::DriftTest_Name(f->test()), ")");
  return m;
}

}  // namespace mlops::monitoring
