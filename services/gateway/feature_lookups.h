#pragma once
// FeatureLookups: the gateway's online feature lookups. They go over
// StreamOnlineFeatures streams kept open to the feature service (a lookup is
// one message each way, without a call's set-up: about a third less than a
// unary call's loopback round trip). The streams use gRPC's
// completion-queue API (CompletionQueueThreads): a lookup asked on a
// queue's thread (a Predict the server's queue delivered) goes over a
// stream opened on that same queue, so the answer arrives, and `done`
// runs, on the thread that asked, without waking another; a lookup asked
// elsewhere goes over a stream on one of kQueues queues of this class
// (threads started on first need). kStreamsPerQueue streams per queue,
// taken in turn, each opened on its first lookup and again after it ends.
// While the feature service lacks the stream (UNIMPLEMENTED: an older
// version), lookups are unary GetOnlineFeatures calls, and the stream is
// tried again kRetryStreamAfter later.
// Each lookup ends exactly once: with the service's status for it, or with
// DEADLINE_EXCEEDED at its deadline (a thread of this class watches them).
// When a stream ends (the connection failed, the service restarted or
// drained it), the lookups it left unanswered are asked again once as unary
// calls within their deadlines (lookups are reads), and the next lookup
// opens a new stream. Thread-safe. ReleaseQueues must be called before a
// server's queues that carried lookups shut down. The destructor ends the
// streams, ends the lookups in flight (UNAVAILABLE) and waits for them.

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
#include "common/server/completion_queue_threads.h"
#include "grpcpp/support/status.h"
#include "mlops/features/v1/features.grpc.pb.h"

namespace mlops::gateway {

class FeatureLookups {
 public:
  static constexpr std::chrono::seconds kRetryStreamAfter{60};
  // Streams kept open per queue, taken in turn: one stream writes one
  // message at a time, which at high concurrency would queue lookups
  // behind each other.
  static constexpr int kStreamsPerQueue = 2;
  // This class's own queues (for lookups asked off a queue thread).
  static constexpr int kQueues = 2;
  using Done = std::function<void(const grpc::Status&)>;

  // `features` must outlive this. `stream` false: unary calls only.
  explicit FeatureLookups(const PeerChannel* features, bool stream = true);
  ~FeatureLookups();
  FeatureLookups(const FeatureLookups&) = delete;
  FeatureLookups& operator=(const FeatureLookups&) = delete;

  // Looks `request` up; `response` is filled when `done` is called with OK.
  // Both must stay valid until `done` runs: on a queue thread of this
  // class, a gRPC thread (unary calls) or this class's deadline thread,
  // never inside Lookup.
  void Lookup(const features::v1::GetOnlineFeaturesRequest* request,
              features::v1::GetOnlineFeaturesResponse* response,
              std::chrono::system_clock::time_point deadline, Done done);

  // Ends the streams open on queues this class does not own (a server's),
  // waits until they finished, and opens none there from now on (later
  // lookups use this class's queues). Call it once the server stopped,
  // before its queues shut down.
  void ReleaseQueues();

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

  using Slots = std::array<std::shared_ptr<Stream>, kStreamsPerQueue>;
  // The queue a lookup asked on this thread uses: the thread's own (a
  // server's) or one of this class's (started on first need).
  grpc::CompletionQueue* QueueForLookupLocked(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsOwnQueueLocked(const grpc::CompletionQueue* queue) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LookupUnary(Pending p);
  // A result read from `stream`.
  void Answered(features::v1::OnlineFeaturesResult& result);
  // `stream` ended with `status`: its lookups still waiting end too.
  void StreamDone(const Stream* stream, const grpc::Status& status);
  // Takes `stream` out of its slot, if it is still there.
  void ForgetLocked(const Stream* stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A stream or unary call is gone (the destructor waits for all).
  void CallEnded();
  // As CallEnded, for a stream (on a queue of this class's or not).
  void StreamEnded(bool foreign);
  void WatchDeadlines();

  const PeerChannel* const features_;
  const std::unique_ptr<features::v1::FeatureService::Stub> stub_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  // The open streams by queue (null: none in that slot yet, or it ended).
  absl::flat_hash_map<grpc::CompletionQueue*, Slots> streams_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<CompletionQueueThreads> own_queues_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;  // ReleaseQueues was called
  int foreign_streams_ ABSL_GUARDED_BY(mu_) = 0;  // live streams on others' queues
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
