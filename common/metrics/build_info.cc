#include "common/metrics/build_info.h"

#include <utility>

#include "prometheus/gauge.h"

#ifndef MLOPS_VERSION
#error "MLOPS_VERSION must be defined by the build (common/metrics/CMakeLists.txt)"
#endif
#ifndef MLOPS_GIT_COMMIT
#error "MLOPS_GIT_COMMIT must be defined by the build (common/metrics/CMakeLists.txt)"
#endif

namespace mlops {

BuildInfo CurrentBuildInfo(std::string service) {
  return BuildInfo{std::move(service), MLOPS_VERSION, MLOPS_GIT_COMMIT};
}

void AddBuildInfoMetric(prometheus::Registry& registry, const BuildInfo& info) {
  prometheus::BuildGauge()
      .Name("mlops_build_info")
      .Help("Build of this process; the value is always 1.")
      .Register(registry)
      .Add({{"service", info.service}, {"version", info.version}, {"commit", info.commit}})
      .Set(1);
}

}  // namespace mlops
