#pragma once
// Fakes of the gateway's peers for tests and the benchmark, served over real
// gRPC on 127.0.0.1: a registry holding real XGBoost artifacts, a feature
// service answering from a map, a monitoring service counting logged
// predictions. Each can be told to fail. Thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"
#include "grpcpp/server.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "mlops/registry/v1/registry.grpc.pb.h"

namespace mlops::gateway::testing {

// An XGBoost binary:logistic model on `cols` features (label: x0 + x1 > 1)
// as JSON bytes; `rounds` trees of depth `depth`.
absl::StatusOr<std::string> TrainTestModel(int cols, int rounds, int depth, unsigned seed);

// A signature of `cols` DOUBLE inputs f0..f{cols-1}, each fetched from
// "view:f<i>", entity key customer_id INT64, binary probability output.
registry::v1::ModelSignature TestSignature(int cols);

class FakeRegistry final : public registry::v1::RegistryService::Service {
 public:
  void AddVersion(const std::string& model, int64_t version, const std::string& artifact,
                  const registry::v1::ModelSignature& signature, bool production);
  void SetEndpoint(const std::string& endpoint, const std::string& model);
  void CorruptArtifacts(bool corrupt) { corrupt_ = corrupt; }
  void FailEvents(bool fail) { fail_events_ = fail; }
  // As a registry without MANUAL_ROLLOUT: UNIMPLEMENTED.
  void RejectManualRollouts(bool reject) { reject_manual_ = reject; }
  // Answers MANUAL_ROLLOUT with FAILED_PRECONDITION (candidate not eligible).
  void RefuseManualRollouts(bool refuse) { refuse_manual_ = refuse; }
  std::vector<registry::v1::RecordDeploymentEventRequest> events() const;
  int artifact_reads() const { return artifact_reads_.load(); }

  grpc::Status GetModelVersion(grpc::ServerContext*, const registry::v1::GetModelVersionRequest*,
                               registry::v1::ModelVersion*) override;
  grpc::Status GetArtifact(grpc::ServerContext*, const registry::v1::GetArtifactRequest*,
                           grpc::ServerWriter<registry::v1::GetArtifactResponse>*) override;
  grpc::Status GetEndpointConfig(grpc::ServerContext*, const registry::v1::GetEndpointConfigRequest*,
                                 registry::v1::EndpointConfig*) override;
  // Queues a WatchDeployments message for the (one) watcher. An accepted
  // MANUAL_ROLLOUT queues the endpoint's new state (rollout PENDING, origin
  // MANUAL, id ro-fake<n>), as the registry does; a ROLLOUT_COMPLETED of a
  // promoting rollout makes its candidate the endpoint's primary.
  void PushDeployment(const registry::v1::WatchDeploymentsResponse& msg);
  grpc::Status WatchDeployments(grpc::ServerContext*, const registry::v1::WatchDeploymentsRequest*,
                                grpc::ServerWriter<registry::v1::WatchDeploymentsResponse>*) override;
  grpc::Status RecordDeploymentEvent(grpc::ServerContext*,
                                     const registry::v1::RecordDeploymentEventRequest*,
                                     registry::v1::RecordDeploymentEventResponse*) override;

 private:
  struct Stored {
    registry::v1::ModelVersion version;
    std::string artifact;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int64_t>, Stored> versions_;
  std::map<std::string, std::string> endpoints_;
  std::vector<registry::v1::RecordDeploymentEventRequest> events_;
  std::atomic<bool> corrupt_{false};
  std::atomic<bool> fail_events_{false};
  std::atomic<bool> reject_manual_{false};
  std::atomic<bool> refuse_manual_{false};
  std::map<std::string, int64_t> primary_;  // endpoint -> current primary (0: production)
  std::map<std::string, registry::v1::RolloutSpec> specs_;  // rollout id -> spec
  std::atomic<int> artifact_reads_{0};
  int next_rollout_ = 1;
  std::condition_variable watch_cv_;
  std::deque<registry::v1::WatchDeploymentsResponse> watch_queue_;
};

// Answers every INT64 entity with values[ref] = entity * scale + offset of
// the feature's index; entities >= unknown_from are ENTITY_UNKNOWN.
class FakeFeatures final : public features::v1::FeatureService::Service {
 public:
  void Fail(bool fail) { fail_ = fail; }
  void set_unknown_from(int64_t v) { unknown_from_ = v; }
  int calls() const { return calls_.load(); }
  // The value the fake gives feature index `i` of `entity`.
  static double Value(int64_t entity, int i);

  grpc::Status GetOnlineFeatures(grpc::ServerContext*, const features::v1::GetOnlineFeaturesRequest*,
                                 features::v1::GetOnlineFeaturesResponse*) override;

 private:
  std::atomic<bool> fail_{false};
  std::atomic<int64_t> unknown_from_{1'000'000'000};
  std::atomic<int> calls_{0};
};

class FakeMonitoring final : public monitoring::v1::MonitoringService::Service {
 public:
  void Fail(bool fail) { fail_ = fail; }
  int64_t records(monitoring::v1::Variant v) const;

  grpc::Status LogPredictions(grpc::ServerContext*,
                              grpc::ServerReader<monitoring::v1::LogPredictionsRequest>*,
                              monitoring::v1::LogPredictionsResponse*) override;

 private:
  mutable std::mutex mu_;
  std::map<int, int64_t> records_;
  std::atomic<bool> fail_{false};
};

// A gRPC server on 127.0.0.1 (a free port) with a PeerChannel to it.
class LoopbackServer {
 public:
  static absl::StatusOr<std::unique_ptr<LoopbackServer>> Start(std::vector<grpc::Service*> services,
                                                               const std::string& name);
  ~LoopbackServer();
  const PeerChannel* peer() const { return peer_.get(); }
  int port() const { return port_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerChannel> peer_;
  int port_ = 0;
};

}  // namespace mlops::gateway::testing
