#pragma once
// HistoricalRetrieval: GetHistoricalFeatures. Resolves the refs to view
// versions, reads the input rows (inline or from an ingestion dataset
// version), takes each view's event table from the cache (built from the
// source dataset version, pinned or the head), and joins chunk by chunk with
// PointInTimeJoin (the FeatureEvaluator code path online serving uses too).
// Everything is validated before the header is sent. Of the input only each
// row's encoding, time and keys are kept. Each chunk is written as wire bytes
// (historical_wire.h) that the sink's message carries as its encoded `chunk`
// field: has_chunk() is false on that object, but serializing it (what
// gRPC does) gives exactly the message with the chunk set, so an in-process
// sink that wants to read the chunk parses the serialized bytes.
// Thread-safe; owns nothing it is given.

#include <functional>

#include "absl/status/status.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/event_table_cache.h"
#include "services/features/ingestion_client.h"
#include "services/features/metrics.h"
#include "services/features/thread_pool.h"
#include "services/features/view_registry.h"

namespace mlops::features {

// One view of a request, resolved: the version, the selected features and
// the source dataset version.
struct ResolvedViewRef {
  ResolvedView view;
  std::vector<size_t> features;  // indices into view.definition.features
  std::string source_version_id;
};

class HistoricalRetrieval {
 public:
  using Sink = std::function<absl::Status(v1::GetHistoricalFeaturesResponse&)>;

  HistoricalRetrieval(const ViewRegistry* views, const IngestionClient* ingestion,
                      EventTableCache* cache, ThreadPool* pool, FeaturesMetrics* metrics)
      : views_(views), ingestion_(ingestion), cache_(cache), pool_(pool), metrics_(metrics) {}

  // Streams the header, then the row chunks, to `sink`.
  absl::Status Run(const v1::GetHistoricalFeaturesRequest& req, const Sink& sink) const;

 private:
  const ViewRegistry* const views_;
  const IngestionClient* const ingestion_;
  EventTableCache* const cache_;
  ThreadPool* const pool_;
  FeaturesMetrics* const metrics_;
};

}  // namespace mlops::features
