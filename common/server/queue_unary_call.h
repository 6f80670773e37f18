#pragma once
// QueueUnaryCall<Request, Response>: one unary call served through gRPC's
// completion-queue API on a server's queue (see QueueDrivenService). It is
// requested on the queue, handled on the queue's thread when it arrives
// (and the next call is requested then), answered exactly once from any
// thread, and deleted once gRPC is done with it (the answer sent and the
// call over). The context asks to be told when the call is done
// (AsyncNotifyWhenDone), so IsCancelled() is safe to call on it, e.g. by
// the RPC-metrics interceptor.
//
// A subclass says how to request its method (the generated RequestX), how
// to handle an arrived call, and how to wait for the next:
//   class EchoCall final : public QueueUnaryCall<EchoRequest, EchoResponse> {
//     void RequestCall() override {
//       service_->RequestEcho(&ctx_, &request_, &responder_, queue(), queue(), this);
//     }
//     void Handle() override { ...; Answer(grpc::Status::OK, &response); }
//     void Renew() override { (new EchoCall(service_, queue()))->Arm(); }
//   };
//   (new EchoCall(service, queue))->Arm();   // in StartServing, per queue
// Each call object counts itself in the service's LiveCalls, which the
// service's StopServing waits on.

#include <atomic>

#include "common/server/completion_queue_threads.h"
#include "common/server/queue_driven_service.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/async_unary_call.h"
#include "grpcpp/support/status.h"

namespace mlops {

template <typename Request, typename Response>
class QueueUnaryCall : public CompletionQueueTag {
 public:
  // Waits for the next call of the method on the queue.
  void Arm() {
    ctx_.AsyncNotifyWhenDone(&done_);
    RequestCall();
  }

 protected:
  QueueUnaryCall(grpc::ServerCompletionQueue* queue, LiveCalls* live) : queue_(queue), live_(live) {
    live_->Add();
  }
  ~QueueUnaryCall() override { live_->Remove(); }

  grpc::ServerCompletionQueue* queue() const { return queue_; }
  // Requests the call: the generated
  // RequestX(&ctx_, &request_, &responder_, queue(), queue(), this).
  virtual void RequestCall() = 0;
  // The call arrived (on the queue's thread): call Answer exactly once,
  // now or later from any thread.
  virtual void Handle() = 0;
  // Arms a new object of the subclass for the next call on queue().
  virtual void Renew() = 0;

  // `response` is read before this returns (only when `status` is OK).
  void Answer(const grpc::Status& status, const Response* response) {
    if (status.ok()) {
      responder_.Finish(*response, status, this);
    } else {
      responder_.FinishWithError(status, this);
    }
  }

  grpc::ServerContext ctx_;
  Request request_;
  grpc::ServerAsyncResponseWriter<Response> responder_{&ctx_};

 private:
  // Completes the "done" notification.
  class DoneTag final : public CompletionQueueTag {
   public:
    explicit DoneTag(QueueUnaryCall* call) : call_(call) {}
    void Run(bool /*ok*/) override { call_->Release(); }

   private:
    QueueUnaryCall* const call_;
  };

  // The request's completion, then the answer's.
  void Run(bool ok) final {
    if (arrived_) {
      Release();
      return;
    }
    if (!ok) {  // no call (the server is shutting down): no done tag either
      delete this;
      return;
    }
    arrived_ = true;
    Renew();
    Handle();
  }

  void Release() {
    if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  grpc::ServerCompletionQueue* const queue_;
  LiveCalls* const live_;
  DoneTag done_{this};
  bool arrived_ = false;
  // Once arrived: the answer's completion and the done notification.
  std::atomic<int> outstanding_{2};
};

}  // namespace mlops
