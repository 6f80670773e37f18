#include "services/training/dataset_follower.h"

#include <algorithm>
#include <chrono>

#include "common/log/log.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"

namespace mlops::training {

namespace iv1 = ::mlops::ingestion::v1;

void DatasetFollower::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void DatasetFollower::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (live_ != nullptr) live_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool DatasetFollower::WatchOnce() {
  auto stub = iv1::IngestionService::NewStub(ingestion_->channel());
  grpc::ClientContext ctx;  // no deadline: the stream lives until it breaks or Stop()
  iv1::WatchDatasetVersionsRequest req;
  for (const auto& [dataset, seq] : after_sequence_) (*req.mutable_after_sequence())[dataset] = seq;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return false;
    live_ = &ctx;
  }
  auto reader = stub->WatchDatasetVersions(&ctx, req);
  iv1::WatchDatasetVersionsResponse msg;
  bool delivered = false;
  while (reader->Read(&msg)) {
    delivered = true;
    if (!msg.has_version()) continue;  // heartbeat
    const iv1::DatasetVersion& v = msg.version();
    absl::StatusOr<std::vector<v1::FiredTrigger>> fired = triggers_->FireForDatasetVersion(v.dataset(), v.id());
    if (!fired.ok()) {
      LogWarn("training_dataset_fire_failed", {{"dataset", v.dataset()}, {"version", v.id()},
                                               {"status", fired.status().ToString()}});
      continue;  // not resumed past: a reconnect delivers it again
    }
    after_sequence_[v.dataset()] = std::max(after_sequence_[v.dataset()], v.sequence());
    ++versions_seen_;
  }
  grpc::Status s = reader->Finish();
  absl::MutexLock lock(&mu_);
  live_ = nullptr;
  if (!stop_) LogInfo("training_dataset_watch_ended", {{"code", std::to_string(s.error_code())}});
  return delivered;
}

void DatasetFollower::Loop() {
  std::chrono::milliseconds backoff(1000);
  while (true) {
    if (WatchOnce()) backoff = std::chrono::milliseconds(1000);
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), absl::Milliseconds(backoff.count()))) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
  }
}

}  // namespace mlops::training
