#include "common/server/queue_driven_service.h"

#include <algorithm>

namespace mlops {

ServerQueues::ServerQueues(grpc::ServerBuilder& builder, const std::vector<grpc::Service*>& services,
                           int queues, const std::string& name, absl::Duration busy_poll) {
  for (grpc::Service* service : services) {
    if (auto* driven = dynamic_cast<QueueDrivenService*>(service)) services_.push_back(driven);
  }
  if (services_.empty()) return;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> added;
  for (int i = 0; i < std::max(1, queues); ++i) added.push_back(builder.AddCompletionQueue());
  threads_ = std::make_unique<CompletionQueueThreads>(std::move(added), name, busy_poll);
}

ServerQueues::~ServerQueues() { Stop(); }

void ServerQueues::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopped_ || threads_ == nullptr) return;
  started_ = true;
  for (QueueDrivenService* service : services_) service->StartServing(threads_.get());
}

void ServerQueues::Stop() {
  bool started = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    started = started_;
  }
  if (started) {
    for (QueueDrivenService* service : services_) service->StopServing();
  }
  if (threads_ != nullptr) threads_->Shutdown();
}

}  // namespace mlops
