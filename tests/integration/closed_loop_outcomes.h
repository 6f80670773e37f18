#pragma once
// The outcomes of the closed loop, checked against the running platform after
// mlops-demo has exited (closed_loop_test): what the services hold, not what
// the demo printed. Each check reports its failures through GoogleTest
// (EXPECT_*/ADD_FAILURE) with a message naming what differed. The pure parts
// (a dataset version id, the point-in-time features of one entity) are
// recomputed here independently of the services' code, from the documented
// contracts in proto/: ingestion.proto (version ids; the canonical encoding is
// written out in services/ingestion/version_hash.h) and features.proto (the
// point-in-time rule). No state; thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mlops/common/v1/common.pb.h"
#include "mlops/features/v1/features.pb.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "tests/demo/platform_client.h"

namespace mlops::testing_platform {

// ---- pure recomputations -------------------------------------------------

// The id a dataset version must have: lowercase hex sha256 of the canonical
// encoding of (dataset, parent id, mode, schema's names and types) followed
// by the batch's rows and their count.
std::string ExpectedDatasetVersionId(const std::string& dataset, const std::string& parent_id,
                                     ingestion::v1::IngestMode mode,
                                     const common::v1::Schema& schema,
                                     const std::vector<common::v1::Row>& batch_rows);

// The features of `spec` for `entity` as of `t`, computed by hand from the
// source rows (in the dataset version's stable order, positional against
// `schema`): events at or before t, ordered by time then row order; raw =
// the last event's value (NULL past the TTL); a window w holds events with
// t - w < time <= t; no event at or before t = every feature NULL. One value
// per feature in definition order (an unset Value is NULL).
std::vector<common::v1::Value> HandComputedFeatures(const features::v1::FeatureViewSpec& spec,
                                                    const common::v1::Schema& schema,
                                                    const std::vector<common::v1::Row>& rows,
                                                    const common::v1::Value& entity, int64_t t);

// "NULL", "int64 3", "double 12.5 (bits 0x...)" and so on, for messages.
std::string DescribeValue(const common::v1::Value& v);

// Samples of one Prometheus text page: the sum of `name`'s samples whose
// labels include every pair of `labels`.
double SumSamples(const std::string& page, const std::string& name,
                  const std::map<std::string, std::string>& labels);

// ---- what the checks share -----------------------------------------------

// The transactions dataset as the ingestion service holds it.
struct DatasetFacts {
  ingestion::v1::Dataset dataset;
  std::vector<ingestion::v1::DatasetVersion> versions;  // oldest first
  common::v1::Schema schema;                            // as read back
  std::vector<common::v1::Row> head_rows;               // every row of the head version
};

// What the registry, training and monitoring say about the loop, filled by
// the model checks for the later ones.
struct LoopFacts {
  int64_t first_version = 0;    // fraud@1: trained by hand, promoted first
  int64_t retrained_version = 0;  // trained by the alert's retraining job
  std::string alert_id;         // the alert that started that job
  std::vector<std::string> customers;  // entity keys to score through the gateway
};

// Lists the versions and reads the head's rows. Fails (ADD_FAILURE) and
// returns false if any call fails.
bool ReadDatasetFacts(demo::PlatformClient& platform, DatasetFacts* facts);

// ---- the checks (items of issue 9's "end-to-end test") ---------------------

// 1. Every version's id is the content hash of its batch's rows and its
//    parent, recomputed from ReadDatasetVersion; the chain is linear
//    (sequence 1..n, each parent the previous version, lineage names it).
void ExpectVersionsAreContentAddressed(demo::PlatformClient& platform, const DatasetFacts& facts);

// 2. The bad batch left nothing: no version and no lineage from its source;
//    the head's row count is the sum of the accepted batches; every head row
//    satisfies the suite's range and set expectations; the ingestion
//    service's /metrics (`ingestion_metrics`) counted the rejection and its
//    failing rows.
void ExpectBadBatchLeftNothing(const DatasetFacts& facts, const std::string& bad_source,
                               const std::string& ingestion_metrics);

// 3. GetHistoricalFeatures of the view for sampled (customer, time) rows,
//    pinned to the head version, equals the hand-computed values exactly;
//    including the edges: the sampled event's own time, just before it, and
//    exactly one short window later.
void ExpectPointInTimeFeaturesMatchHand(demo::PlatformClient& platform, const DatasetFacts& facts);

// 4. Every model version's lineage names a dataset version that exists and
//    feature view versions that exist, and its run read that dataset version.
//    5. An alert fired; the retraining job's cause is that alert, and the
//    alert, the job's best run and the retrained version's lineage name each
//    other. Fills `loop`.
void ExpectModelLineageAndRetrainCause(demo::PlatformClient& platform, const DatasetFacts& facts,
                                       LoopFacts* loop);

// 6. The retrained version's granted transition to PRODUCTION passed a
//    CHAMPION_CHALLENGER check against fraud@first.
void ExpectChampionChallengerPassed(demo::PlatformClient& platform, const LoopFacts& loop);

// 7. A worse candidate after the retrained version was rolled back
//    automatically: registry (rollout ROLLED_BACK, ROLLBACK audit entry,
//    candidate ARCHIVED, production still the retrained version) and gateway
//    (its rollout ROLLED_BACK; predictions come from the retrained version).
void ExpectWorseCandidateRolledBack(demo::PlatformClient& platform, const LoopFacts& loop);

// 8. VerifyAuditLog: the hash chain is intact and not empty.
void ExpectAuditLogVerifies(demo::PlatformClient& platform);

}  // namespace mlops::testing_platform
