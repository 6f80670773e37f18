#include "services/features/incremental_state.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/feature_evaluator.h"

namespace mlops::features {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
// Compaction: when the segments hold more than 2x the retained events and
// more than this many.
constexpr int64_t kCompactMinEvents = 65536;
// Rows per batch handed to the segment builder.
constexpr size_t kExtractRows = 65536;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? kNever : out;
}

// First index in [begin, end) of sorted `times` whose time is > t.
int64_t FirstAfter(const int64_t* times, int64_t begin, int64_t end, int64_t t) {
  return std::upper_bound(times + begin, times + end, t) - times;
}

ColumnBatch EmptyBatch(const SourceSchema& schema) {
  ColumnBatch batch;
  for (const SourceColumn& c : schema.columns) batch.columns.emplace_back(c.type);
  return batch;
}

}  // namespace

std::vector<std::string> ViewSourceColumns(const FeatureViewDefinition& definition) {
  std::vector<std::string> columns = {definition.entity_column, definition.event_time_column};
  for (const FeatureSpec& f : definition.features) {
    if (std::find(columns.begin(), columns.end(), f.source_column) == columns.end()) {
      columns.push_back(f.source_column);
    }
  }
  return columns;
}

IncrementalState::IncrementalState(const FeatureViewDefinition& definition, DataType key_type)
    : definition_(definition), ids_(key_type) {}

void IncrementalState::Plan(const EventTable& table) {
  const std::vector<std::string> names = ViewSourceColumns(definition_);
  for (size_t j = 0; j < names.size(); ++j) {
    SourceColumn column;
    column.name = names[j];
    column.nullable = j >= 2;
    int feature = -1;
    if (j == 0) {
      column.type = table.entities().key_type();
    } else if (j == 1) {
      column.type = DataType::kTimestamp;
    } else {
      for (size_t f = 0; f < definition_.features.size() && feature < 0; ++f) {
        if (definition_.features[f].source_column == names[j]) feature = static_cast<int>(f);
      }
      column.type = table.ColumnOfFeature(static_cast<size_t>(feature)).type();
    }
    schema_.columns.push_back(column);
    column_feature_.push_back(feature);
  }
  for (const FeatureSpec& f : definition_.features) {
    if (f.aggregation == Aggregation::kRaw) {
      has_raw_ = true;
      continue;
    }
    if (std::find(windows_.begin(), windows_.end(), f.window_micros) == windows_.end()) {
      windows_.push_back(f.window_micros);
    }
    max_window_ = std::max(max_window_, f.window_micros);
  }
}

int64_t IncrementalState::KeepFrom(const EventTable& table, int32_t e, int64_t as_of) const {
  const int64_t* times = table.event_times().data();
  const int64_t begin = table.EntityBegin(e);
  const int64_t hi = FirstAfter(times, begin, table.EntityEnd(e), as_of);
  if (hi == begin) return begin;  // nothing as of the time: keep everything
  int64_t threshold = 0;
  const int64_t window_lo = __builtin_sub_overflow(as_of, max_window_, &threshold)
                                ? begin
                                : FirstAfter(times, begin, hi, threshold);
  return std::min(window_lo, hi - 1);
}

int64_t IncrementalState::NextChange(const EventTable& table, int32_t e, int64_t as_of) const {
  const int64_t* times = table.event_times().data();
  const int64_t begin = table.EntityBegin(e);
  const int64_t end = table.EntityEnd(e);
  const int64_t hi = FirstAfter(times, begin, end, as_of);
  int64_t next = hi < end ? times[hi] : kNever;  // a later event enters
  for (int64_t w : windows_) {
    int64_t threshold = 0;
    if (__builtin_sub_overflow(as_of, w, &threshold)) continue;  // every event stays in
    const int64_t lo = FirstAfter(times, begin, hi, threshold);
    // The event at lo is in (as_of - w, as_of] until as_of reaches its time + w.
    if (lo < hi) next = std::min(next, SaturatingAdd(times[lo], w));
  }
  if (has_raw_ && definition_.ttl_micros > 0 && hi > begin) {
    // EXPIRED once as_of - t > ttl (and stays so): a change only if not yet.
    const int64_t expires = SaturatingAdd(SaturatingAdd(times[hi - 1], definition_.ttl_micros), 1);
    if (expires > as_of) next = std::min(next, expires);
  }
  return next;
}

void IncrementalState::AppendEvents(const EventTable& table, int32_t e, int64_t from, int64_t to,
                                    ColumnBatch* out) const {
  for (size_t j = 0; j < schema_.columns.size(); ++j) {
    ColumnVector& column = out->columns[j];
    if (j == 0) {
      for (int64_t i = from; i < to; ++i) {
        if (column.type() == DataType::kInt64) {
          column.values.ints.push_back(table.entities().IntKeyAt(e));
        } else {
          column.values.strings.push_back(table.entities().StringKeyAt(e));
        }
      }
      continue;
    }
    if (j == 1) {
      const int64_t* times = table.event_times().data();
      column.values.ints.insert(column.values.ints.end(), times + from, times + to);
      continue;
    }
    const EventColumn& c = table.ColumnOfFeature(static_cast<size_t>(column_feature_[j]));
    for (int64_t i = from; i < to; ++i) {
      const bool valid = c.IsValid(i);
      column.nulls.push_back(valid ? 0 : 1);
      switch (c.type()) {
        case DataType::kInt64:
        case DataType::kTimestamp: column.values.ints.push_back(c.ints()[i]); break;
        case DataType::kDouble: column.values.doubles.push_back(c.doubles()[i]); break;
        case DataType::kBool: column.values.ints.push_back(c.bools()[i]); break;
        case DataType::kString:
          column.values.strings.push_back(valid ? c.dictionary()[c.codes()[i]] : std::string());
          break;
      }
    }
  }
  out->num_rows += to - from;
}

absl::StatusOr<std::shared_ptr<const EventTable>> IncrementalState::BuildSegment(
    const std::vector<int32_t>& entities, const ColumnBatch* appended, ThreadPool* pool) const {
  // Retained events first (they were ingested before any appended row), in
  // their (time, ingestion) order; the builder's stable sort keeps it.
  int64_t expected = appended != nullptr ? appended->num_rows : 0;
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<EventTableBuilder> builder,
                         EventTableBuilder::Create(definition_, schema_, expected));
  ColumnBatch batch = EmptyBatch(schema_);
  for (int32_t g : entities) {
    const Where& w = where_[g];
    if (w.segment < 0) continue;
    const EventTable& table = *segments_[w.segment];
    AppendEvents(table, w.local, std::max(w.keep_from, KeepFrom(table, w.local, as_of_micros_)),
                 table.EntityEnd(w.local), &batch);
    if (static_cast<size_t>(batch.num_rows) >= kExtractRows) {
      MLOPS_RETURN_IF_ERROR(builder->Append(batch));
      batch = EmptyBatch(schema_);
    }
  }
  if (batch.num_rows > 0) MLOPS_RETURN_IF_ERROR(builder->Append(batch));
  if (appended != nullptr) MLOPS_RETURN_IF_ERROR(builder->Append(*appended));
  return builder->Finish(pool);
}

std::shared_ptr<const IncrementalState> IncrementalState::FromFull(
    std::shared_ptr<const EventTable> table, std::shared_ptr<const OnlineSnapshot> snapshot,
    std::vector<int64_t> last_event_micros, int64_t as_of_micros, ThreadPool* pool) {
  std::shared_ptr<IncrementalState> s(
      new IncrementalState(table->definition(), table->entities().key_type()));
  s->Plan(*table);
  s->as_of_micros_ = as_of_micros;
  s->snapshot_ = std::move(snapshot);
  s->last_event_micros_ = std::move(last_event_micros);
  s->ids_ = table->entities();  // global id = the table's id
  const size_t n = table->num_entities();
  s->where_.resize(n);
  s->next_change_.resize(n);
  for (size_t e = 0; e < n; ++e) {
    const auto id = static_cast<int32_t>(e);
    Where& w = s->where_[e];
    w.segment = 0;
    w.local = id;
    w.keep_from = s->KeepFrom(*table, id, as_of_micros);
    s->retained_events_ += table->EntityEnd(id) - w.keep_from;
    s->next_change_[e] = s->NextChange(*table, id, as_of_micros);
  }
  s->segments_.push_back(std::move(table));
  // A failed compaction leaves the full table in place: correct, only larger.
  (void)s->Compact(pool);
  return s;
}

absl::StatusOr<IncrementalState::Update> IncrementalState::Apply(const ColumnBatch& appended,
                                                                 int64_t as_of_micros,
                                                                 ThreadPool* pool) const {
  if (as_of_micros < as_of_micros_) {
    return absl::FailedPreconditionError(
        absl::StrCat("as_of ", as_of_micros, " is earlier than the state's ", as_of_micros_));
  }
  if (appended.columns.size() != schema_.columns.size() || appended.num_rows < 0) {
    return absl::InvalidArgumentError(absl::StrCat("appended rows have ", appended.columns.size(),
                                                   " columns, the view reads ",
                                                   schema_.columns.size()));
  }
  for (size_t j = 0; j < schema_.columns.size(); ++j) {
    const ColumnVector& c = appended.columns[j];
    if (c.type() != schema_.columns[j].type || c.size() != static_cast<size_t>(appended.num_rows)) {
      return absl::InvalidArgumentError(absl::StrCat("appended column \"", schema_.columns[j].name,
                                                     "\" has the wrong type or length"));
    }
  }
  std::shared_ptr<IncrementalState> next(new IncrementalState(*this));
  // Which entities to recompute: the appended rows' and the due ones.
  const ColumnVector& keys = appended.columns[0];
  std::vector<uint8_t> touched(next->where_.size(), 0);
  std::vector<int32_t> entities;
  auto touch = [&](int32_t g) {
    if (static_cast<size_t>(g) >= touched.size()) {
      touched.resize(static_cast<size_t>(g) + 1, 0);
      next->where_.resize(touched.size());
      next->next_change_.resize(touched.size(), kNever);
    }
    if (touched[g] == 0) entities.push_back(g);
    touched[g] = 1;
  };
  for (size_t r = 0; r < static_cast<size_t>(appended.num_rows); ++r) {
    if (keys.IsNull(r)) {
      return absl::InvalidArgumentError(absl::StrCat("appended row ", r, ": null entity key"));
    }
    touch(keys.type() == DataType::kInt64 ? next->ids_.Intern(keys.values.ints[r])
                                          : next->ids_.Intern(std::string_view(keys.values.strings[r])));
  }
  for (size_t g = 0; g < next_change_.size(); ++g) {
    if (next_change_[g] <= as_of_micros) touch(static_cast<int32_t>(g));
  }
  next->as_of_micros_ = as_of_micros;
  Update out;
  out.entities_recomputed = static_cast<int64_t>(entities.size());
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> segment,
                         next->BuildSegment(entities, &appended, pool));
  // Recompute those entities into a copy of the snapshot.
  FeatureEvaluator evaluator(segment);
  std::vector<int32_t> locals(segment->num_entities());
  for (size_t i = 0; i < locals.size(); ++i) locals[i] = static_cast<int32_t>(i);
  next->snapshot_ = OnlineSnapshot::Update(*snapshot_, evaluator, locals, as_of_micros, pool);
  out.entities_added =
      static_cast<int64_t>(next->snapshot_->num_entities() - snapshot_->num_entities());
  next->last_event_micros_.resize(next->snapshot_->num_entities(), 0);
  const int64_t* times = segment->event_times().data();
  const auto segment_index = static_cast<int32_t>(next->segments_.size());
  for (int32_t local : locals) {
    const EntityKey key = segment->entities().KeyAt(local);
    const int32_t g = next->ids_.Find(key);
    Where& w = next->where_[g];
    if (w.segment >= 0) {
      const EventTable& old = *next->segments_[w.segment];
      next->retained_events_ -= old.EntityEnd(w.local) - w.keep_from;
    }
    w.segment = segment_index;
    w.local = local;
    w.keep_from = next->KeepFrom(*segment, local, as_of_micros);
    next->retained_events_ += segment->EntityEnd(local) - w.keep_from;
    next->next_change_[g] = next->NextChange(*segment, local, as_of_micros);
    const int32_t row = next->snapshot_->FindRow(key);
    if (row < 0) continue;
    out.changed_rows.push_back(row);
    const int64_t begin = segment->EntityBegin(local);
    const int64_t hi = FirstAfter(times, begin, segment->EntityEnd(local), as_of_micros);
    next->last_event_micros_[row] = hi > begin ? times[hi - 1] : 0;
  }
  std::sort(out.changed_rows.begin(), out.changed_rows.end());
  next->segments_.push_back(std::move(segment));
  MLOPS_RETURN_IF_ERROR(next->Compact(pool));
  out.state = std::move(next);
  return out;
}

absl::Status IncrementalState::Compact(ThreadPool* pool) {
  std::vector<int64_t> users(segments_.size(), 0);
  for (const Where& w : where_) {
    if (w.segment >= 0) ++users[w.segment];
  }
  for (size_t s = 0; s < segments_.size(); ++s) {
    if (users[s] == 0) segments_[s] = nullptr;
  }
  if (held_events() <= std::max(2 * retained_events_, kCompactMinEvents)) {
    return absl::OkStatus();
  }
  std::vector<int32_t> all(where_.size());
  for (size_t g = 0; g < all.size(); ++g) all[g] = static_cast<int32_t>(g);
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> segment,
                         BuildSegment(all, nullptr, pool));
  // The new segment's ids follow its own first-seen order: map by key.
  retained_events_ = 0;
  for (size_t local = 0; local < segment->num_entities(); ++local) {
    const auto l = static_cast<int32_t>(local);
    Where& w = where_[ids_.Find(segment->entities().KeyAt(l))];
    w.segment = 0;
    w.local = l;
    w.keep_from = segment->EntityBegin(l);
    retained_events_ += segment->EntityEnd(l) - w.keep_from;
  }
  segments_.assign(1, std::move(segment));
  return absl::OkStatus();
}

int64_t IncrementalState::held_events() const {
  int64_t n = 0;
  for (const auto& s : segments_) {
    if (s != nullptr) n += s->num_events();
  }
  return n;
}

size_t IncrementalState::num_segments() const {
  size_t n = 0;
  for (const auto& s : segments_) n += s != nullptr ? 1 : 0;
  return n;
}

}  // namespace mlops::features
