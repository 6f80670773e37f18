#pragma once
// Sends every prediction to monitoring (LogPredictions, client streaming) in
// batches from a background thread, through a bounded queue: Enqueue never
// blocks; when the queue is full (monitoring slow or down) records are
// dropped and counted. Owns its thread (Start/Stop). Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/peers/peer_channel.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"

namespace mlops::gateway {

struct LoggedPrediction {
  std::string model;
  int64_t version = 0;
  std::string endpoint;
  monitoring::v1::Variant variant = monitoring::v1::VARIANT_PRIMARY;
  std::shared_ptr<const std::vector<std::string>> feature_names;  // signature order
  monitoring::v1::PredictionRecord record;
};

struct PredictionLoggerOptions {
  std::size_t capacity = 20000;  // queued records
  std::size_t max_batch = 1000;  // records per stream
  std::chrono::milliseconds flush_interval{200};
  std::chrono::milliseconds call_deadline{5000};
  std::string source;  // the gateway replica id
};

class PredictionLogger {
 public:
  // `monitoring` may be null (nothing configured: every record is dropped and
  // counted). `on_drop(n)` and `on_sent(n)` are called from any thread.
  PredictionLogger(const PeerChannel* monitoring, PredictionLoggerOptions options,
                   std::function<void(int64_t)> on_drop, std::function<void(int64_t)> on_sent);
  ~PredictionLogger();

  // Never blocks; false (and counted as dropped) when the queue is full.
  bool Enqueue(LoggedPrediction prediction);
  void Start();
  // Sends what is queued (one last attempt) and joins the thread.
  void Stop();

  int64_t dropped() const { return dropped_.load(); }
  int64_t sent() const { return sent_.load(); }

 private:
  void Run();
  void Send(std::vector<LoggedPrediction> batch);
  void Drop(int64_t n);

  const PeerChannel* const monitoring_;
  const PredictionLoggerOptions options_;
  const std::function<void(int64_t)> on_drop_;
  const std::function<void(int64_t)> on_sent_;
  std::unique_ptr<monitoring::v1::MonitoringService::Stub> stub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LoggedPrediction> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> dropped_{0};
  std::atomic<int64_t> sent_{0};
};

}  // namespace mlops::gateway
