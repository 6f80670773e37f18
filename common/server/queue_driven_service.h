#pragma once
// QueueDrivenService: a grpc::Service some of whose methods are served
// through gRPC's completion-queue (async) API on queues that the server
// gives it (see CompletionQueueThreads for why: its hot paths). A service
// class implements it next to its generated base, e.g.
//   class S final : public v1::Svc::WithAsyncMethod_Hot<v1::Svc::Service>,
//                   public QueueDrivenService { ... };
// GrpcServer and GrpcTestServer find such services among theirs (through
// ServerQueues below): they add the queues to the builder, call
// StartServing once the server started and StopServing once it stopped.
//
// ServerQueues: the queues one server's queue-driven services use. Its
// order: ServerQueues(builder, ...) before BuildAndStart; Start() after it
// succeeded; after the server's Shutdown returned (or when it never
// started), Stop(): the services' StopServing, then the queues drain and
// their threads end. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/server/completion_queue_threads.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server_builder.h"

namespace mlops {

class QueueDrivenService {
 public:
  virtual ~QueueDrivenService() = default;
  // The server started: serve on `queues` (its server queues; e.g. request
  // the first calls on each). `queues` stays valid until after StopServing.
  virtual void StartServing(CompletionQueueThreads* queues) = 0;
  // The server stopped taking calls: wait until the calls it had given
  // this service are gone (see LiveCalls), end every other operation this
  // service started on the queues (e.g. client streams it opened there),
  // wait until they completed, and start none from now on.
  virtual void StopServing() = 0;
};

// LiveCalls: counts a service's call objects on the server's queues (each
// Add in its constructor, Remove in its destructor), so that StopServing
// can wait until every one is gone: a call cancelled by the server's
// shutdown may still finish (a gRPC operation) after Shutdown returned,
// and no operation may start on a queue once it is shut down.
// Thread-safe.
class LiveCalls {
 public:
  void Add() {
    absl::MutexLock lock(&mu_);
    ++count_;
  }
  void Remove() {
    absl::MutexLock lock(&mu_);
    if (--count_ == 0) none_.SignalAll();
  }
  void WaitUntilNone() {
    absl::MutexLock lock(&mu_);
    while (count_ > 0) none_.Wait(&mu_);
  }

 private:
  absl::Mutex mu_;
  absl::CondVar none_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

class ServerQueues {
 public:
  // Adds `queues` queues to `builder` when one of `services` is a
  // QueueDrivenService; otherwise adds nothing and does nothing.
  // `busy_poll`: how long each queue's thread polls before it sleeps (see
  // CompletionQueueThreads; zero: off).
  ServerQueues(grpc::ServerBuilder& builder, const std::vector<grpc::Service*>& services,
               int queues, const std::string& name,
               absl::Duration busy_poll = absl::ZeroDuration());
  ~ServerQueues();  // Stop()
  ServerQueues(const ServerQueues&) = delete;
  ServerQueues& operator=(const ServerQueues&) = delete;

  void Start();
  void Stop();  // idempotent

 private:
  std::vector<QueueDrivenService*> services_;
  std::unique_ptr<CompletionQueueThreads> threads_;  // null: no queue-driven service
  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops
