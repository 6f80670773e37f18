#include "services/features/features_stack.h"

#include "absl/time/clock.h"
#include "services/features/event_table_cache.h"
#include "services/features/features_service.h"
#include "services/features/historical.h"
#include "services/features/metrics.h"
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
                                               options.event_cache_bytes);
  p->views = std::make_unique<ViewRegistry>(p->store.get(), p->ingestion.get(), options.clock);
  p->metrics = std::make_unique<FeaturesMetrics>(registry);
  p->historical = std::make_unique<HistoricalRetrieval>(
      p->views.get(), p->ingestion.get(), p->cache.get(), p->threads.get(), p->metrics.get());
  FeatureServiceDeps deps;
  deps.views = p->views.get();
  deps.historical = p->historical.get();
  deps.authorizer = authorizer;
  p->service = std::make_unique<FeatureServiceImpl>(deps);
  return std::unique_ptr<FeaturesStack>(new FeaturesStack(std::move(p)));
}

FeaturesStack::FeaturesStack(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
FeaturesStack::~FeaturesStack() { StopWatcher(); }

grpc::Service* FeaturesStack::service() { return parts_->service.get(); }

absl::Status FeaturesStack::LoadOnlineStore() { return absl::OkStatus(); }
void FeaturesStack::StartWatcher() {}
void FeaturesStack::StopWatcher() {}
void FeaturesStack::WatchOnce() {}

}  // namespace mlops::features
