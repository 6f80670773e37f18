#include "common/server/completion_queue_threads.h"

#include <pthread.h>

#include <algorithm>

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
  Start(name);
}

CompletionQueueThreads::CompletionQueueThreads(
    std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues, const std::string& name) {
  for (std::unique_ptr<grpc::ServerCompletionQueue>& queue : queues) {
    server_queues_.push_back(queue.get());
    queues_.push_back(std::move(queue));
  }
  Start(name);
}

grpc::CompletionQueue* CompletionQueueThreads::CurrentQueue() { return current_queue; }

CompletionQueueThreads::~CompletionQueueThreads() { Shutdown(); }

void CompletionQueueThreads::Start(const std::string& name) {
  const std::string short_name = name.substr(0, 15);
  for (const std::unique_ptr<grpc::CompletionQueue>& queue : queues_) {
    threads_.emplace_back([q = queue.get()] { Drain(q); });
    pthread_setname_np(threads_.back().native_handle(), short_name.c_str());
  }
}

void CompletionQueueThreads::Drain(grpc::CompletionQueue* queue) {
  current_queue = queue;
  void* tag = nullptr;
  bool ok = false;
  while (queue->Next(&tag, &ok)) static_cast<CompletionQueueTag*>(tag)->Run(ok);
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
