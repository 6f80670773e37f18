#pragma once
// CompletionQueueThreads: gRPC completion queues, each drained by one thread
// of its own, for the hot paths that use gRPC's asynchronous (completion
// queue) API instead of its callback API. Why: in gRPC 1.51 the callback
// API runs every completion on two shared "nexting" threads that hand the
// poller to each other on every event, about 4.7 context switches per
// loopback unary call in an echo server against about 1 for a queue that
// one thread drains (measured on this 2-core VM: about half the CPU, and a
// third off the p99). The thread that waits on a queue is the one that
// polls its sockets, so an event is handled where it woke, without handoff.
//
// A tag given to an asynchronous operation on one of these queues must be a
// CompletionQueueTag: its Run(ok) is called on the queue's thread when the
// operation completes. Shutdown() (also the destructor) shuts the queues
// down, waits until every operation started on them completed (so every
// long-lived call must have been cancelled or finished by then) and joins
// the threads. Thread-safe.
//
// Busy polling (off by default): after each event a queue's thread keeps
// asking its queue for the next one without sleeping, for up to
// `busy_poll`, and only then waits in the kernel. A request that arrives
// within the window is taken at once instead of waking a sleeping thread
// (and an idle virtual CPU: measured on this 2-core VM, that wake-up is
// most of a c=1 Predict's latency). The cost is CPU: a thread spins for
// up to the window after every event, so under light steady load it keeps
// a core busy; idle, it sleeps once the window after the last event ends.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/server_builder.h"

namespace mlops {

class CompletionQueueTag {
 public:
  virtual ~CompletionQueueTag() = default;
  // `ok`: the operation's success as gRPC reports it (false e.g. for a read
  // at the end of a stream or an operation on a cancelled call).
  virtual void Run(bool ok) = 0;
};

// A tag that calls (object->*method)(ok): one per kind of operation an
// object has in flight (its reads, its writes, ...).
template <typename T>
class MethodTag final : public CompletionQueueTag {
 public:
  MethodTag(T* object, void (T::*method)(bool)) : object_(object), method_(method) {}
  void Run(bool ok) override { (object_->*method_)(ok); }

 private:
  T* const object_;
  void (T::*const method_)(bool);
};

class CompletionQueueThreads {
 public:
  // Starts `queues` (>= 1) client-side completion queues and their threads,
  // named `name` (at most 15 characters shows in top and perf).
  CompletionQueueThreads(int queues, const std::string& name);
  // Drains a server's queues instead (grpc::ServerBuilder::AddCompletionQueue);
  // takes them over. `busy_poll`: see above (zero: off).
  CompletionQueueThreads(std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues,
                         const std::string& name,
                         absl::Duration busy_poll = absl::ZeroDuration());
  ~CompletionQueueThreads();
  CompletionQueueThreads(const CompletionQueueThreads&) = delete;
  CompletionQueueThreads& operator=(const CompletionQueueThreads&) = delete;

  int size() const { return static_cast<int>(queues_.size()); }
  grpc::CompletionQueue* queue(int i) const { return queues_[i].get(); }
  // The server's queue i (null when these are client-side queues).
  grpc::ServerCompletionQueue* server_queue(int i) const {
    return server_queues_.empty() ? nullptr : server_queues_[i];
  }
  // The queue the calling thread drains (of any CompletionQueueThreads), or
  // null when it drains none.
  static grpc::CompletionQueue* CurrentQueue();

  void Shutdown();

 private:
  void Start(const std::string& name, absl::Duration busy_poll);
  static void Drain(grpc::CompletionQueue* queue, absl::Duration busy_poll);
  // The next event, polling without sleeping for up to `busy_poll` first;
  // false once the queue is shut down and drained.
  static bool NextEvent(grpc::CompletionQueue* queue, absl::Duration busy_poll, void** tag,
                        bool* ok);

  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<grpc::ServerCompletionQueue*> server_queues_;  // the same, when a server's
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops
