#pragma once
// OnlineStream: the server side of StreamOnlineFeatures calls, raw
// (ByteBuffer) bidi streams on gRPC's completion-queue API (the service is
// a QueueDrivenService). An OnlineStream waits for a call on its queue;
// when one arrives, it arms the next, asks `open` whether to take it (a
// refusal finishes it with that status at once), then reads lookups. Each
// OnlineFeaturesLookup read is answered by `answer` on the queue's thread,
// or, when `answer` defers it (the lookup needs the view registry), on
// OnlineSlowPath's thread; the next read starts at once, so lookups
// pipeline and may be answered out of order. Results are written one at a
// time in the order they are ready. The stream finishes (OK) once the
// caller has ended its writes and every lookup read has been answered, or
// when the connection fails. Deletes itself when gRPC is done with it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "common/server/completion_queue_threads.h"
#include "common/server/queue_driven_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "services/features/online_slow_path.h"

namespace mlops::features {

// An OnlineFeaturesResult's encoding: lookup_id, the status, and (when OK)
// `response_wire`, a GetOnlineFeaturesResponse's encoding, as field 4.
std::string EncodeOnlineResult(uint64_t lookup_id, const grpc::Status& status,
                               const std::string& response_wire);

class OnlineStream final {
 public:
  // The generated base FeatureServiceImpl derives from (both online
  // methods raw, on the completion-queue API).
  using Service = v1::FeatureService::WithRawMethod_StreamOnlineFeatures<
      v1::FeatureService::WithRawMethod_GetOnlineFeatures<v1::FeatureService::Service>>;
  // Whether to take an arrived call: OK, or the status to finish it with.
  using Open = std::function<grpc::Status(grpc::ServerContext& ctx)>;
  // One lookup's encoded result. With `deferred` non-null it may instead set
  // *deferred and return nothing: it is then called again with nullptr off
  // the queue's thread.
  using Answer = std::function<std::string(const grpc::ByteBuffer& lookup, bool* deferred)>;
  // Called once per taken or refused call, right before it finishes, with
  // its context, when it arrived and its status.
  using Finished = std::function<void(grpc::ServerContext& ctx,
                                      std::chrono::steady_clock::time_point arrived,
                                      const grpc::Status& status)>;
  struct Handlers {
    Open open;
    Answer answer;
    Finished finished;
  };

  // Waits for a call on `queue`; `service`, `slow_path`, `handlers` and
  // `live` (each stream counts itself there) must outlive the server's
  // queues.
  static void Arm(Service* service, grpc::ServerCompletionQueue* queue, OnlineSlowPath* slow_path,
                  const Handlers* handlers, LiveCalls* live);

 private:
  OnlineStream(Service* service, grpc::ServerCompletionQueue* queue, OnlineSlowPath* slow_path,
               const Handlers* handlers, LiveCalls* live);
  ~OnlineStream() { live_->Remove(); }

  void OnArrived(bool ok);
  void OnRead(bool ok);
  void OnWritten(bool ok);
  void OnFinished(bool ok);
  void OnDone(bool ok);
  void Deliver(std::string result);
  // Finishes when nothing more can be written. Called without mu_ held.
  void MaybeFinish();
  void Finish(const grpc::Status& status);
  void Release();  // one of the finish and done completions came

  Service* const service_;
  grpc::ServerCompletionQueue* const queue_;
  OnlineSlowPath* const slow_path_;
  const Handlers* const handlers_;
  LiveCalls* const live_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer> stream_{&ctx_};
  MethodTag<OnlineStream> arrived_{this, &OnlineStream::OnArrived};
  MethodTag<OnlineStream> read_{this, &OnlineStream::OnRead};
  MethodTag<OnlineStream> written_{this, &OnlineStream::OnWritten};
  MethodTag<OnlineStream> finished_{this, &OnlineStream::OnFinished};
  MethodTag<OnlineStream> done_{this, &OnlineStream::OnDone};
  std::atomic<int> outstanding_{2};  // once arrived: the finish and done completions
  std::chrono::steady_clock::time_point arrived_at_;
  grpc::ByteBuffer read_buf_;   // owned by the read in flight
  grpc::ByteBuffer write_buf_;  // owned by the write in flight

  absl::Mutex mu_;
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);  // results waiting to be written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // a write failed: drop the rest
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  int deferred_ ABSL_GUARDED_BY(mu_) = 0;  // lookups on the slow path
};

}  // namespace mlops::features
