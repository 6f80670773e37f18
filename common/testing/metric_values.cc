#include "common/testing/metric_values.h"

#include <vector>

#include "prometheus/metric_family.h"

namespace mlops {
namespace {

bool HasLabels(const prometheus::ClientMetric& metric,
               const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : labels) {
    bool found = false;
    for (const prometheus::ClientMetric::Label& label : metric.label) {
      if (label.name == key && label.value == value) found = true;
    }
    if (!found) return false;
  }
  return true;
}

// The type of family `name` and its first sample with `labels`, if any.
std::optional<std::pair<prometheus::MetricType, prometheus::ClientMetric>> Find(
    const prometheus::Registry& registry, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (HasLabels(metric, labels)) return std::make_pair(family.type, metric);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> MetricValue(const prometheus::Registry& registry, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  const auto found = Find(registry, name, labels);
  if (!found) return std::nullopt;
  const prometheus::ClientMetric& m = found->second;
  switch (found->first) {
    case prometheus::MetricType::Counter: return m.counter.value;
    case prometheus::MetricType::Gauge: return m.gauge.value;
    case prometheus::MetricType::Untyped: return m.untyped.value;
    case prometheus::MetricType::Histogram:
      return static_cast<double>(m.histogram.sample_count);
    case prometheus::MetricType::Summary: return static_cast<double>(m.summary.sample_count);
    default: return std::nullopt;
  }
}

std::optional<double> HistogramSum(const prometheus::Registry& registry, const std::string& name,
                                   const std::map<std::string, std::string>& labels) {
  const auto found = Find(registry, name, labels);
  if (!found || found->first != prometheus::MetricType::Histogram) return std::nullopt;
  return found->second.histogram.sample_sum;
}

}  // namespace mlops
