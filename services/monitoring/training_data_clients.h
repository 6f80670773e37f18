#pragma once

// The gRPC sources of automatic references: the registry's GetModelVersion
// (signature and lineage -> ModelInputs) and the feature service's
// GetHistoricalFeatures over the training dataset version (an even sample of
// the model's inputs). Each call gets a fresh context from `new_context`
// (PeerChannel::NewContext in production: deadline and bearer token).
// Thread-safe (stubs are).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/monitoring/auto_reference.h"

namespace mlops::monitoring {

// A context whose deadline is `deadline` from now.
using DeadlineContextFactory =
    std::function<std::unique_ptr<grpc::ClientContext>(std::chrono::milliseconds deadline)>;

// FAILED_PRECONDITION when the version has no training dataset version or no
// inputs.
absl::StatusOr<ModelInputs> ModelInputsOf(const registry::v1::ModelVersion& version);

class GrpcModelVersionSource : public ModelVersionSource {
 public:
  GrpcModelVersionSource(std::shared_ptr<grpc::Channel> channel,
                         DeadlineContextFactory new_context);
  absl::StatusOr<ModelInputs> GetModelInputs(const std::string& model, int64_t version) override;

 private:
  std::unique_ptr<registry::v1::RegistryService::Stub> stub_;
  DeadlineContextFactory new_context_;
};

// The request: the dataset version's rows (all columns: the entity key and
// event timestamp columns are taken by role unless the signature names the
// key), the inputs' feature refs in input order. Raw inputs are read from
// the passed-through columns by name.
class GrpcTrainingRowSource : public TrainingRowSource {
 public:
  GrpcTrainingRowSource(std::shared_ptr<grpc::Channel> channel, DeadlineContextFactory new_context,
                        std::chrono::milliseconds deadline = std::chrono::minutes(10));
  absl::StatusOr<v1::InlineRows> SampleInputs(const ModelInputs& inputs,
                                              int64_t max_rows) override;

 private:
  std::unique_ptr<features::v1::FeatureService::Stub> stub_;
  DeadlineContextFactory new_context_;
  const std::chrono::milliseconds deadline_;
};

}  // namespace mlops::monitoring
