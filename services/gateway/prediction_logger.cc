#include "services/gateway/prediction_logger.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "common/log/log.h"

namespace mlops::gateway {

namespace mv1 = ::mlops::monitoring::v1;

PredictionLogger::PredictionLogger(const PeerChannel* monitoring, PredictionLoggerOptions options,
                                   std::function<void(int64_t)> on_drop,
                                   std::function<void(int64_t)> on_sent)
    : monitoring_(monitoring),
      options_(std::move(options)),
      on_drop_(std::move(on_drop)),
      on_sent_(std::move(on_sent)) {
  if (monitoring_ != nullptr) stub_ = mv1::MonitoringService::NewStub(monitoring_->channel());
}

PredictionLogger::~PredictionLogger() { Stop(); }

void PredictionLogger::Drop(int64_t n) {
  dropped_ += n;
  if (on_drop_) on_drop_(n);
}

bool PredictionLogger::Enqueue(LoggedPrediction prediction) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < options_.capacity && !stopping_) {
      queue_.push_back(std::move(prediction));
      if (queue_.size() >= options_.max_batch) cv_.notify_one();
      return true;
    }
  }
  Drop(1);
  return false;
}

void PredictionLogger::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void PredictionLogger::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PredictionLogger::Run() {
  for (;;) {
    std::vector<LoggedPrediction> batch;
    bool last = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.flush_interval,
                   [&] { return stopping_ || queue_.size() >= options_.max_batch; });
      last = stopping_;
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (last && !queue_.empty()) last = false;  // drain before exiting
    }
    if (!batch.empty()) Send(std::move(batch));
    if (last) return;
  }
}

void PredictionLogger::Send(std::vector<LoggedPrediction> batch) {
  const int64_t n = static_cast<int64_t>(batch.size());
  if (stub_ == nullptr) {
    Drop(n);
    return;
  }
  // One message per (model, version, endpoint, variant): a batch holds few,
  // so a linear search that copies no key.
  std::vector<std::pair<const LoggedPrediction*, mv1::LogPredictionsRequest>> groups;
  for (LoggedPrediction& p : batch) {
    auto same = [&p](const std::pair<const LoggedPrediction*, mv1::LogPredictionsRequest>& g) {
      const LoggedPrediction& q = *g.first;
      return q.version == p.version && q.variant == p.variant && q.model == p.model &&
             q.endpoint == p.endpoint;
    };
    auto it = std::find_if(groups.begin(), groups.end(), same);
    if (it == groups.end()) {
      groups.emplace_back(&p, mv1::LogPredictionsRequest());
      it = std::prev(groups.end());
      mv1::LogPredictionsRequest& req = it->second;
      req.set_model(p.model);
      req.set_version(p.version);
      req.set_endpoint(p.endpoint);
      req.set_variant(p.variant);
      req.set_source(options_.source);
      if (p.feature_names) {
        for (const std::string& f : *p.feature_names) req.add_feature_names(f);
      }
    }
    *it->second.add_records() = std::move(p.record);
  }
  std::unique_ptr<grpc::ClientContext> ctx = monitoring_->NewContext(options_.call_deadline);
  mv1::LogPredictionsResponse resp;
  std::unique_ptr<grpc::ClientWriter<mv1::LogPredictionsRequest>> writer =
      stub_->LogPredictions(ctx.get(), &resp);
  bool ok = true;
  for (const auto& group : groups) {
    if (!writer->Write(group.second)) {
      ok = false;
      break;
    }
  }
  if (ok) writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) {
    Drop(n);
    LogWarn("prediction_log_failed", {{"records", std::to_string(n)},
                                      {"code", std::to_string(status.error_code())},
                                      {"message", status.error_message()}});
    return;
  }
  sent_ += n;
  if (on_sent_) on_sent_(n);
}

}  // namespace mlops::gateway
