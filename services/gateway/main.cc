// mlops-gateway: the gateway service binary. See services/gateway/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops/inference/v1/inference.grpc.pb.h"

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"gateway", 50055, 9105, true};
  spec.usage = "mlops-gateway: the gateway service of the MLOps platform";
  spec.build = [](mlops::ServiceContext&) -> absl::StatusOr<mlops::BuiltService> {
    // The gateway RPCs are not built yet: every method answers UNIMPLEMENTED.
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::inference::v1::InferenceService::Service>());
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
