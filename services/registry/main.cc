// mlops-registry: the registry service binary. See services/registry/ for its parts.
#include <memory>

#include "common/server/service_main.h"
#include "mlops/registry/v1/registry.grpc.pb.h"

int main(int argc, char** argv) {
  mlops::ServiceMainSpec spec;
  spec.defaults = {"registry", 50054, 9104, true};
  spec.usage = "mlops-registry: the registry service of the MLOps platform";
  spec.build = [](mlops::ServiceContext&) -> absl::StatusOr<mlops::BuiltService> {
    // The registry RPCs are not built yet: every method answers UNIMPLEMENTED.
    mlops::BuiltService built;
    built.services.push_back(std::make_shared<mlops::registry::v1::RegistryService::Service>());
    return built;
  };
  return mlops::RunServiceMain(argc, argv, spec);
}
