#include "services/monitoring/performance_groups.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace mlops::monitoring {

int64_t PercentileDisc(double fraction, std::vector<int64_t>* values) {
  if (values->empty()) return 0;
  // As PostgreSQL's percentile_disc_final: row ceil(fraction * n), 1-based.
  const auto row = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(values->size())));
  const size_t k = row > 1 ? std::min(static_cast<size_t>(row - 1), values->size() - 1) : 0;
  std::nth_element(values->begin(), values->begin() + static_cast<std::ptrdiff_t>(k),
                   values->end());
  return (*values)[k];
}

bool PerformanceAccumulator::Selects(const PredictionLogBatch& batch, size_t row) const {
  if (batch.model() != query_.model) return false;
  if (query_.version != 0 && batch.version() != query_.version) return false;
  const int64_t ts = batch.timestamp_micros(row);
  return ts >= query_.start_micros && ts < query_.end_micros;
}

void PerformanceAccumulator::Add(const PredictionLogBatch& batch,
                                 const std::unordered_map<std::string_view, LabelValue>& labels) {
  const int64_t w = query_.window_micros;
  Group* group = nullptr;
  int64_t group_start = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!Selects(batch, i)) continue;
    const int64_t ts = batch.timestamp_micros(i);
    const int64_t start = w == 0 ? query_.start_micros : ts - ts % w;
    if (group == nullptr || start != group_start) {
      group = &groups_[{batch.version(), start}];
      group->out.version = batch.version();
      group->out.window_start_micros = start;
      group_start = start;
    }
    PerformanceGroup& g = group->out;
    ++g.predictions;
    if (!batch.error_code(i).empty()) ++g.errors;
    group->latencies.push_back(batch.latency_micros(i));
    auto label = labels.find(batch.request_id(i));
    if (label == labels.end()) continue;
    LabelledPrediction p;
    p.score = batch.score(i);
    p.predicted_label = std::string(batch.predicted_label(i));
    p.label = label->second;
    ++g.labelled;
    g.pairs.push_back(std::move(p));
  }
}

std::vector<PerformanceGroup> PerformanceAccumulator::Finish() {
  std::vector<PerformanceGroup> out;
  out.reserve(groups_.size());
  for (auto& [key, group] : groups_) {
    group.out.p50_latency_micros = PercentileDisc(0.5, &group.latencies);
    group.out.p99_latency_micros = PercentileDisc(0.99, &group.latencies);
    out.push_back(std::move(group.out));
  }
  groups_.clear();
  return out;
}

}  // namespace mlops::monitoring
