#include "services/registry/registry_types.h"

namespace mlops::registry {

std::optional<double> LatestMetricValue(const VersionRecord& v, const std::string& metric,
                                        const std::string& evaluation_name) {
  const std::string want = evaluation_name.empty() ? "test" : evaluation_name;
  const EvaluationRecord* found = nullptr;
  double value = 0;
  // Evaluations are in recording order: a later one wins a tie on time.
  for (const EvaluationRecord& e : v.evaluations) {
    const std::string name = e.name.empty() ? "test" : e.name;
    if (name != want) continue;
    auto it = e.metrics.find(metric);
    if (it == e.metrics.end()) continue;
    if (found == nullptr || e.recorded_at_micros >= found->recorded_at_micros) {
      found = &e;
      value = it->second;
    }
  }
  if (found == nullptr) return std::nullopt;
  return value;
}

}  // namespace mlops::registry
