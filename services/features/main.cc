// mlops-features: the feature service binary. See services/features/.
#include <memory>

#include "common/server/service_main.h"
#include "mlops/features/v1/features.grpc.pb.h"

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"features", 50052, 9102, true};
  spec.usage = "mlops-features: the feature service of the MLOps platform";
  spec.build = [](mlops::ServiceContext&) -> absl::StatusOr<mlops::BuiltService> {
    // The feature RPCs are not built yet: every method answers UNIMPLEMENTED.
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::features::v1::FeatureService::Service>());
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
