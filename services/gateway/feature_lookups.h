#pragma once
// FeatureLookups: the gateway's online feature lookups. They go over
// StreamOnlineFeatures streams kept open to the feature service (a lookup is
// one message each way, without a call's set-up: about a third less than a
// unary call's loopback round trip), kStreams of them taken in turn, each
// opened on its first lookup and again after it ends. While the feature service lacks the stream (UNIMPLEMENTED:
// an older version), lookups are unary GetOnlineFeatures calls, and the
// stream is tried again kRetryStreamAfter later.
// Each lookup ends exactly once: with the service's status for it, or with
// DEADLINE_EXCEEDED at its deadline (a thread of this class watches them).
// When the stream ends (the connection failed, the service restarted or
// drained it), the lookups it left unanswered are asked again once as unary
// calls within their deadlines (lookups are reads), and the next lookup
// opens a new stream. Thread-safe. The destructor ends the stream, ends the
// lookups in flight (UNAVAILABLE) and waits for them.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/peers/peer_channel.h"
#include "grpcpp/support/status.h"
#include "mlops/features/v1/features.grpc.pb.h"

namespace mlops::gateway {

class FeatureLookups {
 public:
  static constexpr std::chrono::seconds kRetryStreamAfter{60};
  // Streams kept open, taken in turn: one stream writes one message at a
  // time, which at high concurrency would queue lookups behind each other.
  static constexpr int kStreams = 4;
  using Done = std::function<void(const grpc::Status&)>;

  // `features` must outlive this. `stream` false: unary calls only.
  explicit FeatureLookups(const PeerChannel* features, bool stream = true);
  ~FeatureLookups();
  FeatureLookups(const FeatureLookups&) = delete;
  FeatureLookups& operator=(const FeatureLookups&) = delete;

  // Looks `request` up; `response` is filled when `done` is called with OK.
  // Both must stay valid until `done` runs (on a gRPC thread or this class's
  // deadline thread, never inside Lookup).
  void Lookup(const features::v1::GetOnlineFeaturesRequest* request,
              features::v1::GetOnlineFeaturesResponse* response,
              std::chrono::system_clock::time_point deadline, Done done);

  // Lookups answered over the stream and by unary calls so far (tests,
  // the benchmark).
  int64_t streamed() const;
  int64_t unary() const;

 private:
  class Stream;
  struct Pending {
    const features::v1::GetOnlineFeaturesRequest* request = nullptr;
    features::v1::GetOnlineFeaturesResponse* response = nullptr;
    std::chrono::system_clock::time_point deadline;
    Done done;
    const Stream* stream = nullptr;
  };

  void LookupUnary(Pending p);
  // A result read from `stream`.
  void Answered(features::v1::OnlineFeaturesResult& result);
  // `stream` ended with `status`: its lookups still waiting end too.
  void StreamDone(const Stream* stream, const grpc::Status& status);
  // Takes `stream` out of its slot, if it is still there.
  void ForgetLocked(const Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A stream or unary call is gone (the destructor waits for all).
  void CallEnded();
  void WatchDeadlines();

  const PeerChannel* const features_;
  const std::unique_ptr<features::v1::FeatureService::Stub> stub_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  // The open streams (null: none in that slot yet, or it ended).
  std::array<std::shared_ptr<Stream>, kStreams> streams_ ABSL_GUARDED_BY(mu_);
  // Lookups are unary calls until then (max: always).
  std::chrono::steady_clock::time_point unary_until_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
  std::chrono::system_clock::time_point next_check_ ABSL_GUARDED_BY(mu_);
  int live_calls_ ABSL_GUARDED_BY(mu_) = 0;  // streams and unary calls not yet done
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t streamed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t unary_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread deadlines_;  // last: started once the rest exists
};

}  // namespace mlops::gateway
