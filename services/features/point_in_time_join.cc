#include "services/features/point_in_time_join.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/features/absl_view.h"

namespace mlops::features {
namespace {

// Queries one task evaluates; small enough to balance two threads, large
// enough to amortize scheduling.
constexpr size_t kQueriesPerTask = 8192;
// Chunks of at least this many rows release JoinScratch's sorted values
// after use instead of keeping them for the next chunk.
constexpr size_t kReleaseSortedRows = 262144;

// to[row of order[i]] = from[i] for every i: moves values evaluated in entity
// order to their input rows.
void Scatter(FeatureColumn& from, const std::vector<uint64_t>& order, FeatureColumn& to) {
  const size_t n = order.size();
  auto row = [&order](size_t i) { return static_cast<size_t>(order[i] & 0xffffffffu); };
  for (size_t i = 0; i < n; ++i) to.status[row(i)] = from.status[i];
  switch (from.type()) {
    case DataType::kDouble:
      for (size_t i = 0; i < n; ++i) to.values.doubles[row(i)] = from.values.doubles[i];
      break;
    case DataType::kString:
      for (size_t i = 0; i < n; ++i) to.values.strings[row(i)] = std::move(from.values.strings[i]);
      break;
    default:
      for (size_t i = 0; i < n; ++i) to.values.ints[row(i)] = from.values.ints[i];
      break;
  }
}

// Rows [begin, end) of `in` as a new column.
ColumnVector Slice(const ColumnVector& in, size_t begin, size_t end) {
  ColumnVector out(in.type());
  switch (in.type()) {
    case DataType::kDouble:
      out.values.doubles.assign(in.values.doubles.begin() + begin, in.values.doubles.begin() + end);
      break;
    case DataType::kString:
      out.values.strings.assign(in.values.strings.begin() + begin, in.values.strings.begin() + end);
      break;
    default:
      out.values.ints.assign(in.values.ints.begin() + begin, in.values.ints.begin() + end);
      break;
  }
  if (!in.nulls.empty()) out.nulls.assign(in.nulls.begin() + begin, in.nulls.begin() + end);
  return out;
}

}  // namespace

PointInTimeJoin::PointInTimeJoin(std::vector<FeatureEvaluator> evaluators, ThreadPool* pool)
    : evaluators_(std::move(evaluators)), pool_(pool) {
  key_type_ = evaluators_.front().table().entities().key_type();
  for (const FeatureEvaluator& e : evaluators_) {
    first_column_.push_back(columns_.size());
    for (size_t k = 0; k < e.num_features(); ++k) {
      columns_.push_back(JoinOutputColumn{e.definition().name, e.definition().version,
                                          e.spec(k).name, e.output_type(k)});
    }
  }
}

absl::StatusOr<std::unique_ptr<PointInTimeJoin>> PointInTimeJoin::Create(
    std::vector<JoinViewRequest> views, ThreadPool* pool) {
  if (views.empty()) return absl::InvalidArgumentError("views: at least one view is needed");
  std::vector<FeatureEvaluator> evaluators;
  for (size_t v = 0; v < views.size(); ++v) {
    JoinViewRequest& view = views[v];
    if (view.table == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("views[", v, "]: no event table"));
    }
    const FeatureViewDefinition& def = view.table->definition();
    for (size_t index : view.features) {
      if (index >= def.features.size()) {
        return absl::InvalidArgumentError(absl::StrCat("views[", v, "] (", def.name,
                                                       "): feature index ", index,
                                                       " out of range"));
      }
    }
    const DataType key_type = view.table->entities().key_type();
    if (!evaluators.empty() && key_type != evaluators.front().table().entities().key_type()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "views[", v, "] (", def.name, "): keyed by ", Av(DataTypeName(key_type)),
          " but views[0] by ", Av(DataTypeName(evaluators.front().table().entities().key_type())),
          "; one join has one entity key type"));
    }
    evaluators.emplace_back(std::move(view.table), std::move(view.features));
  }
  return std::unique_ptr<PointInTimeJoin>(new PointInTimeJoin(std::move(evaluators), pool));
}

absl::StatusOr<JoinOutputChunk> PointInTimeJoin::JoinChunk(JoinInputChunk input,
                                                           JoinScratch* reused) const {
  JoinScratch temporary;
  JoinScratch& scratch = reused != nullptr ? *reused : temporary;
  const size_t n = input.timestamps.size();
  const ColumnVector& keys = input.entity_keys;
  if (keys.type() != key_type_) {
    return absl::InvalidArgumentError(absl::StrCat("entity key: got ", Av(DataTypeName(keys.type())),
                                                   ", the views are keyed by ",
                                                   Av(DataTypeName(key_type_))));
  }
  if (keys.size() != n || (!keys.nulls.empty() && keys.nulls.size() != n)) {
    return absl::InvalidArgumentError(
        absl::StrCat("entity key: ", keys.size(), " keys for ", n, " timestamps"));
  }
  if (n > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError("chunk: too many rows; split the input");
  }
  for (size_t c = 0; c < input.passthrough.columns.size(); ++c) {
    if (input.passthrough.columns[c].size() != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "passthrough column ", c, ": ", input.passthrough.columns[c].size(), " values for ",
          n, " rows"));
    }
  }

  JoinOutputChunk out;
  out.passthrough = std::move(input.passthrough);
  out.features.reserve(columns_.size());
  for (const FeatureEvaluator& e : evaluators_) {
    for (FeatureColumn& c : e.MakeColumns(n)) out.features.push_back(std::move(c));
  }
  const std::vector<int64_t>& ts = input.timestamps;
  scratch.views.resize(evaluators_.size());

  // Per view: rows of known entities sorted by (entity id, row), packed in
  // one integer; rows of unknown entities are answered right away. Entity id
  // order is table order, so evaluating in this order sweeps the events
  // front to back; values land in `sorted` (sequential writes) and are then
  // scattered to their rows one column at a time.
  ParallelForOrInline(pool_, static_cast<int64_t>(evaluators_.size()), [&](int64_t v) {
    const FeatureEvaluator& evaluator = evaluators_[v];
    JoinScratch::View& view = scratch.views[v];
    evaluator.table().entities().FindAll(keys, &view.ids);
    const std::vector<int32_t>& ids = view.ids;
    size_t known = 0;
    for (size_t r = 0; r < n; ++r) {
      if (ids[r] < 0) {
        evaluator.EvaluateInto(-1, ts[r], out.features, first_column_[v], r);
      } else {
        ++known;
      }
    }
    std::vector<uint64_t>& order = view.order;
    order.resize(known);
    const size_t num_entities = evaluator.table().num_entities();
    if (num_entities <= 4 * known) {  // counting sort; rows stay in order
      view.counts.assign(num_entities + 1, 0);
      for (size_t r = 0; r < n; ++r) {
        if (ids[r] >= 0) ++view.counts[ids[r] + 1];
      }
      for (size_t e = 0; e < num_entities; ++e) view.counts[e + 1] += view.counts[e];
      for (size_t r = 0; r < n; ++r) {
        if (ids[r] >= 0) order[view.counts[ids[r]]++] = (static_cast<uint64_t>(ids[r]) << 32) | r;
      }
    } else {
      size_t i = 0;
      for (size_t r = 0; r < n; ++r) {
        if (ids[r] >= 0) order[i++] = (static_cast<uint64_t>(ids[r]) << 32) | r;
      }
      std::sort(order.begin(), order.end());
    }
    view.times.resize(known);
    for (size_t i = 0; i < known; ++i) view.times[i] = ts[order[i] & 0xffffffffu];
    if (view.sorted.empty()) {
      view.sorted = evaluator.MakeColumns(known);
    } else {
      for (FeatureColumn& c : view.sorted) c.Resize(known);  // every slot is rewritten
    }
  });

  struct Task {
    size_t view, begin, end;
  };
  std::vector<Task> tasks;
  for (size_t v = 0; v < scratch.views.size(); ++v) {
    const size_t m = scratch.views[v].order.size();
    for (size_t b = 0; b < m; b += kQueriesPerTask) {
      tasks.push_back(Task{v, b, std::min(b + kQueriesPerTask, m)});
    }
  }
  ParallelForOrInline(pool_, static_cast<int64_t>(tasks.size()), [&](int64_t t) {
    const Task& task = tasks[t];
    const FeatureEvaluator& evaluator = evaluators_[task.view];
    JoinScratch::View& view = scratch.views[task.view];
    for (size_t i = task.begin; i < task.end; ++i) {
      const int32_t entity = static_cast<int32_t>(view.order[i] >> 32);
      evaluator.EvaluateInto(entity, view.times[i], view.sorted, 0, i);
    }
  });
  ParallelForOrInline(pool_, static_cast<int64_t>(columns_.size()), [&](int64_t c) {
    size_t v = 0;
    while (v + 1 < evaluators_.size() && first_column_[v + 1] <= static_cast<size_t>(c)) ++v;
    FeatureColumn& sorted = scratch.views[v].sorted[c - first_column_[v]];
    Scatter(sorted, scratch.views[v].order, out.features[c]);
    // A large chunk's sorted copy is released column by column as it is
    // scattered, so that it does not stay beside the output (the next call
    // allocates it again: cheap next to a large chunk's work).
    if (n >= kReleaseSortedRows) sorted = FeatureColumn(sorted.type());
  });
  return out;
}

absl::Status PointInTimeJoin::Run(const ColumnVector& entity_keys,
                                  const std::vector<int64_t>& timestamps, int64_t chunk_rows,
                                  const std::function<absl::Status(JoinOutputChunk)>& sink) const {
  if (chunk_rows <= 0) return absl::InvalidArgumentError("chunk_rows must be positive");
  if (entity_keys.size() != timestamps.size()) {
    return absl::InvalidArgumentError(absl::StrCat("entity key: ", entity_keys.size(),
                                                   " keys for ", timestamps.size(),
                                                   " timestamps"));
  }
  const size_t n = timestamps.size();
  JoinScratch scratch;
  for (size_t begin = 0; begin < n; begin += static_cast<size_t>(chunk_rows)) {
    const size_t end = std::min(n, begin + static_cast<size_t>(chunk_rows));
    JoinInputChunk chunk;
    chunk.entity_keys = Slice(entity_keys, begin, end);
    chunk.timestamps.assign(timestamps.begin() + begin, timestamps.begin() + end);
    absl::StatusOr<JoinOutputChunk> out = JoinChunk(std::move(chunk), &scratch);
    if (!out.ok()) return out.status();
    out->first_row = static_cast<int64_t>(begin);
    absl::Status s = sink(*std::move(out));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace mlops::features
