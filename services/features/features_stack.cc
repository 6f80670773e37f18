#include "services/features/features_stack.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "services/features/event_table_cache.h"
#include "services/features/features_service.h"
#include "services/features/historical.h"
#include "services/features/materializer.h"
#include "services/features/metrics.h"
#include "services/features/online_server.h"
#include "services/features/online_store.h"
#include "services/features/pg_feature_store.h"
#include "services/features/thread_pool.h"
#include "services/features/view_registry.h"

namespace mlops::features {

struct FeaturesStack::Parts {
  FeaturesStackOptions options;
  std::unique_ptr<PgFeatureStore> store;
  std::unique_ptr<IngestionClient> ingestion;
  std::unique_ptr<ThreadPool> threads;
  std::unique_ptr<EventTableCache> cache;
  std::unique_ptr<ViewRegistry> views;
  std::unique_ptr<FeaturesMetrics> metrics;
  std::unique_ptr<HistoricalRetrieval> historical;
  std::unique_ptr<OnlineViews> online;
  std::unique_ptr<Materializer> materializer;
  std::unique_ptr<OnlineServer> online_server;
  // The watcher thread.
  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;  // guarded by mu
  std::thread watcher;
  std::unique_ptr<FeatureServiceImpl> service;
};

absl::StatusOr<std::unique_ptr<FeaturesStack>> FeaturesStack::Create(
    PgPool* pool, std::shared_ptr<grpc::Channel> ingestion_channel,
    IngestionClient::ContextFactory ingestion_context, prometheus::Registry* registry,
    const Authorizer* authorizer, FeaturesStackOptions options) {
  if (!options.clock) options.clock = [] { return absl::ToUnixMicros(absl::Now()); };
  auto p = std::make_unique<Parts>();
  p->options = options;
  p->store = std::make_unique<PgFeatureStore>(pool);
  p->ingestion = std::make_unique<IngestionClient>(std::move(ingestion_channel),
                                                   std::move(ingestion_context));
  p->threads = std::make_unique<ThreadPool>(std::max(1, options.threads));
  p->cache = std::make_unique<EventTableCache>(p->ingestion.get(), p->threads.get(),
                                               options.event_cache_bytes,
                                               options.source_cache_bytes);
  p->views = std::make_unique<ViewRegistry>(p->store.get(), p->ingestion.get(), options.clock);
  p->metrics = std::make_unique<FeaturesMetrics>(registry);
  p->historical = std::make_unique<HistoricalRetrieval>(
      p->views.get(), p->ingestion.get(), p->cache.get(), p->threads.get(), p->metrics.get());
  p->online = std::make_unique<OnlineViews>();
  p->materializer = std::make_unique<Materializer>(p->views.get(), p->ingestion.get(),
                                                   p->cache.get(), p->store.get(),
                                                   p->online.get(), p->threads.get(),
                                                   p->metrics.get());
  p->online_server = std::make_unique<OnlineServer>(p->online.get(), p->views.get(),
                                                    p->metrics.get(), options.max_online_entities);
  FeatureServiceDeps deps;
  deps.views = p->views.get();
  deps.historical = p->historical.get();
  deps.materializer = p->materializer.get();
  deps.online = p->online_server.get();
  deps.authorizer = authorizer;
  deps.rpc_metrics = options.rpc_metrics;
  p->service = std::make_unique<FeatureServiceImpl>(deps);
  return std::unique_ptr<FeaturesStack>(new FeaturesStack(std::move(p)));
}

FeaturesStack::FeaturesStack(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
FeaturesStack::~FeaturesStack() { StopWatcher(); }

grpc::Service* FeaturesStack::service() { return parts_->service.get(); }

absl::Status FeaturesStack::LoadOnlineStore() { return parts_->materializer->LoadOnlineStore(); }

void FeaturesStack::WatchOnce() { parts_->materializer->WatchOnce(); }

void FeaturesStack::StartWatcher() {
  Parts* p = parts_.get();
  if (p->watcher.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->stopping = false;
  }
  const auto interval = absl::ToChronoMilliseconds(p->options.watch_interval);
  p->watcher = std::thread([p, interval] {
    std::unique_lock<std::mutex> lock(p->mu);
    while (!p->stopping) {
      lock.unlock();
      p->materializer->WatchOnce();
      lock.lock();
      p->wake.wait_for(lock, interval, [p] { return p->stopping; });
    }
  });
}

void FeaturesStack::StopWatcher() {
  Parts* p = parts_.get();
  {
    std::lock_guard<std::mutex> lock(p->mu);
    p->stopping = true;
  }
  p->wake.notify_all();
  if (p->watcher.joinable()) p->watcher.join();
}

}  // namespace mlops::features
