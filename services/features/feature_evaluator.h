#pragma once
// FeatureEvaluator: THE evaluation code path. Historical retrieval
// (PointInTimeJoin) and online materialization (OnlineSnapshot) both compute
// every feature value through EvaluateInto, so TTL, window and aggregation
// logic exists once and both paths produce bit-identical values.
//
// Semantics, for an entity and a time as_of (see Aggregation in
// feature_view.h for each aggregation):
// - only events with event_time <= as_of count; never the future;
// - no such event: every feature is ENTITY_UNKNOWN;
// - raw features take the latest such event (ties: the last ingested), as
//   pandas merge_asof(direction="backward", tolerance=ttl) does: EXPIRED when
//   as_of - event_time > ttl (ttl > 0), else NULL if its value is null, else
//   PRESENT;
// - aggregations read the events in (as_of - window, as_of], in event order.
//
// Immutable after construction; EvaluateInto may be called from many threads
// at once as long as they write different rows.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "services/features/event_table.h"
#include "services/features/feature_view.h"
#include "services/features/types.h"

namespace mlops::features {

class FeatureEvaluator {
 public:
  // Evaluates the features of `table` whose indices (into its definition's
  // features) are in `selected`, in that order; empty `selected` = all.
  // Indices must be in range (PointInTimeJoin::Create checks them).
  explicit FeatureEvaluator(std::shared_ptr<const EventTable> table,
                            std::vector<size_t> selected = {});

  const EventTable& table() const { return *table_; }
  const FeatureViewDefinition& definition() const { return table_->definition(); }
  size_t num_features() const { return plan_.size(); }
  // Definition index, spec and output type of the k-th evaluated feature.
  size_t feature_index(size_t k) const { return plan_[k].feature; }
  const FeatureSpec& spec(size_t k) const { return definition().features[plan_[k].feature]; }
  DataType output_type(size_t k) const { return plan_[k].output_type; }

  // num_features() empty columns of the output types, n rows each.
  std::vector<FeatureColumn> MakeColumns(size_t n) const;

  // Computes every evaluated feature of entity id `entity` (-1: unknown) as
  // of `as_of` into row `row` of out[first_column + k], k < num_features().
  void EvaluateInto(int32_t entity, int64_t as_of, std::vector<FeatureColumn>& out,
                    size_t first_column, size_t row) const;

  // The same for one entity by key (a key of the wrong type is unknown).
  std::vector<FeatureValue> Evaluate(const EntityKey& key, int64_t as_of) const;

 private:
  struct Planned {
    size_t feature = 0;
    Aggregation aggregation = Aggregation::kRaw;
    const EventColumn* column = nullptr;
    DataType output_type = DataType::kDouble;
    int window_slot = -1;  // index into windows_, aggregations only
  };

  void EvaluateAggregate(const Planned& p, int64_t lo, int64_t hi, FeatureColumn& out,
                         size_t row) const;

  std::shared_ptr<const EventTable> table_;
  std::vector<Planned> plan_;
  std::vector<int64_t> windows_;  // distinct windows, in first-use order
};

}  // namespace mlops::features
