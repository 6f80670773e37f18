#pragma once
// Reading metric values back from a prometheus::Registry in tests:
//   EXPECT_THAT(MetricValue(registry, "mlops_grpc_server_handled_total",
//                           {{"grpc_method", "Echo"}, {"grpc_code", "OK"}}),
//               Optional(1.0));

#include <map>
#include <optional>
#include <string>

#include "prometheus/registry.h"

namespace mlops {

// The first sample of family `name` whose labels include all of `labels`:
// its value for counters, gauges and untyped metrics, its sample count for
// histograms and summaries. nullopt when there is no such sample.
std::optional<double> MetricValue(const prometheus::Registry& registry, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

// The sum of all observations of the histogram sample selected as above.
std::optional<double> HistogramSum(const prometheus::Registry& registry, const std::string& name,
                                   const std::map<std::string, std::string>& labels = {});

}  // namespace mlops
