#pragma once
// Typed stubs of the six services, sharing one bearer token; every call gets
// a context with a deadline. Used by the closed-loop demo and the pipeline
// integration test. Thread-safe (stubs and channels are).

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/client_context.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "mlops/training/v1/training.grpc.pb.h"

namespace mlops::demo {

struct PlatformAddresses {
  std::string ingestion, features, training, registry, gateway, monitoring;
};

class PlatformClient {
 public:
  PlatformClient(const PlatformAddresses& addresses, std::string token);

  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds deadline = std::chrono::milliseconds(30000)) const;

  ingestion::v1::IngestionService::Stub& ingestion() const { return *ingestion_; }
  features::v1::FeatureService::Stub& features() const { return *features_; }
  training::v1::TrainingService::Stub& training() const { return *training_; }
  registry::v1::RegistryService::Stub& registry() const { return *registry_; }
  inference::v1::InferenceService::Stub& gateway() const { return *gateway_; }
  monitoring::v1::MonitoringService::Stub& monitoring() const { return *monitoring_; }

 private:
  std::string authorization_;
  std::unique_ptr<ingestion::v1::IngestionService::Stub> ingestion_;
  std::unique_ptr<features::v1::FeatureService::Stub> features_;
  std::unique_ptr<training::v1::TrainingService::Stub> training_;
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_;
  std::unique_ptr<inference::v1::InferenceService::Stub> gateway_;
  std::unique_ptr<monitoring::v1::MonitoringService::Stub> monitoring_;
};

// OK, or the call's status with `what` (e.g. "GetJob") before its message.
absl::Status CheckRpc(const grpc::Status& status, const std::string& what);

}  // namespace mlops::demo
