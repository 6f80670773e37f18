// mlops-monitoring: the monitoring service binary. See services/monitoring/.
#include <memory>

#include "common/server/service_main.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"monitoring", 50056, 9106, true};
  spec.usage = "mlops-monitoring: the monitoring service of the MLOps platform";
  spec.build = [](mlops::ServiceContext&) -> absl::StatusOr<mlops::BuiltService> {
    // The monitoring RPCs are not built yet: every method answers UNIMPLEMENTED.
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::monitoring::v1::MonitoringService::Service>());
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
