// mlops-training: the training service binary. See services/training/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops/training/v1/training.grpc.pb.h"

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"training", 50053, 9103, true};
  spec.usage = "mlops-training: the training service of the MLOps platform";
  spec.build = [](mlops::ServiceContext&) -> absl::StatusOr<mlops::BuiltService> {
    // The training RPCs are not built yet: every method answers UNIMPLEMENTED.
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::training::v1::TrainingService::Service>());
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
