#include "common/server/completion_queue_threads.h"

#include <pthread.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "grpc/support/time.h"

namespace mlops {
namespace {

// The queue the current thread drains, if it is one of ours.
thread_local grpc::CompletionQueue* current_queue = nullptr;

std::vector<std::unique_ptr<grpc::CompletionQueue>> NewQueues(int n) {
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues;
  for (int i = 0; i < std::max(1, n); ++i) queues.push_back(std::make_unique<grpc::CompletionQueue>());
  return queues;
}

}  // namespace

CompletionQueueThreads::CompletionQueueThreads(int queues, const std::string& name)
    : queues_(NewQueues(queues)) {
  Start(name, absl::ZeroDuration());
}

CompletionQueueThreads::CompletionQueueThreads(
    std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues, const std::string& name,
    absl::Duration busy_poll) {
  for (std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues) {
    server_queues_.push_back(queue.get());
    queues_.push_back(std::move(queue));
  }
  Start(name, busy_poll);
}

grpc::CompletionQueue* CompletionQueueThreads::CurrentQueue() { return current_queue; }

CompletionQueueThreads::~CompletionQueueThreads() { Shutdown(); }

void CompletionQueueThreads::Start(const std::string& name, absl::Duration busy_poll) {
  const std::string short_name = name.substr(0, 15);
  for (const std::unique_ptr<grpc::CompletionQueue>& queue : queues_) {
    threads_.emplace_back([q = queue.get(), busy_poll] { Drain(q, busy_poll); });
    pthread_setname_np(threads_.back().native_handle(), short_name.c_str());
  }
}

void CompletionQueueThreads::Drain(grpc::CompletionQueue* queue, absl::Duration busy_poll) {
  current_queue = queue;
  void* tag = nullptr;
  bool ok = false;
  while (NextEvent(queue, busy_poll, &tag, &ok)) static_cast<CompletionQueueTag*>(tag)->Run(ok);
}

bool CompletionQueueThreads::NextEvent(grpc::CompletionQueue* queue, absl::Duration busy_poll,
                                       void** tag, bool* ok) {
  if (busy_poll > absl::ZeroDuration()) {
    // A deadline already past: gRPC polls the sockets once, without
    // sleeping, and answers TIMEOUT when nothing is ready.
    const gpr_timespec now = gpr_time_0(GPR_CLOCK_MONOTONIC);
    const absl::Time until = absl::Now() + busy_poll;
    do {
      switch (queue->AsyncNext(tag, ok, now)) {
        case grpc::CompletionQueue::GOT_EVENT:
          return true;
        case grpc::CompletionQueue::SHUTDOWN:
          return false;
        case grpc::CompletionQueue::TIMEOUT:
          break;
      }
    } while (absl::Now() < until);
  }
  return queue->Next(tag, ok);
}

void CompletionQueueThreads::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  for (const std::unique_ptr<grpc::CompletionQueue>& queue : queues_) queue->Shutdown();
  for (std::thread& t : threads_) t.join();
}

}  // namespace mlops
