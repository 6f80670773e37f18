#include "services/features/feature_evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace mlops::features {
namespace {

// Marks out[row] with a non-present status and clears its value slot, so that
// output does not depend on what the slot held before.
void SetStatus(FeatureColumn& out, size_t row, ValueStatus status) {
  out.status[row] = status;
  switch (out.type()) {
    case DataType::kDouble: out.values.doubles[row] = 0.0; break;
    case DataType::kString: out.values.strings[row].clear(); break;
    default: out.values.ints[row] = 0; break;
  }
}

// Copies event i's value of column c (which must be valid) into out[row].
void CopyValue(const EventColumn& c, int64_t i, FeatureColumn& out, size_t row) {
  switch (c.type()) {
    case DataType::kInt64:
    case DataType::kTimestamp: out.values.ints[row] = c.ints()[i]; break;
    case DataType::kDouble: out.values.doubles[row] = c.doubles()[i]; break;
    case DataType::kBool: out.values.ints[row] = c.bools()[i]; break;
    case DataType::kString: out.values.strings[row] = c.dictionary()[c.codes()[i]]; break;
  }
  out.status[row] = ValueStatus::kPresent;
}

void SetDouble(FeatureColumn& out, size_t row, double v) {
  out.values.doubles[row] = v;
  out.status[row] = ValueStatus::kPresent;
}

void SetInt(FeatureColumn& out, size_t row, int64_t v) {
  out.values.ints[row] = v;
  out.status[row] = ValueStatus::kPresent;
}

// Calls f(v[i]) for the valid events i in [lo, hi), in event order.
template <typename T, typename F>
void ForEachValid(const EventColumn& c, const T* v, int64_t lo, int64_t hi, F&& f) {
  if (!c.has_nulls()) {
    for (int64_t i = lo; i < hi; ++i) f(v[i]);
  } else {
    for (int64_t i = lo; i < hi; ++i) {
      if (c.IsValid(i)) f(v[i]);
    }
  }
}

int64_t CountValid(const EventColumn& c, int64_t lo, int64_t hi) {
  if (!c.has_nulls()) return hi - lo;
  int64_t n = 0;
  for (int64_t i = lo; i < hi; ++i) n += c.IsValid(i) ? 1 : 0;
  return n;
}

// Sum (as double, left to right in event order), count, mean and the
// two-pass population stddev of the valid values in [lo, hi) of v.
template <typename T>
struct Moments {
  static double Sum(const EventColumn& c, const T* v, int64_t lo, int64_t hi) {
    double s = 0.0;
    ForEachValid(c, v, lo, hi, [&s](T x) { s += static_cast<double>(x); });
    return s;
  }
  static double Stddev(const EventColumn& c, const T* v, int64_t lo, int64_t hi, int64_t n) {
    const double mean = Sum(c, v, lo, hi) / static_cast<double>(n);
    double m2 = 0.0;
    ForEachValid(c, v, lo, hi, [&m2, mean](T x) {
      const double d = static_cast<double>(x) - mean;
      m2 += d * d;
    });
    return std::sqrt(m2 / static_cast<double>(n));
  }
};

// min (want_max = false) or max over the valid values of [lo, hi); n > 0.
template <typename T>
T Extreme(const EventColumn& c, const T* v, int64_t lo, int64_t hi, bool want_max) {
  bool first = true;
  T best{};
  ForEachValid(c, v, lo, hi, [&](T x) {
    if (first || (want_max ? best < x : x < best)) best = x;
    first = false;
  });
  return best;
}

// Events in [begin, end) are sorted by time; the first index whose time is
// greater than t (std::upper_bound, written without data-dependent branches:
// the positions probed are unpredictable, so a branchy search mispredicts).
int64_t FirstAfter(const int64_t* times, int64_t begin, int64_t end, int64_t t) {
  int64_t len = end - begin;
  if (len == 0) return begin;
  const int64_t* base = times + begin;
  while (len > 1) {
    const int64_t half = len / 2;
    base = base[half - 1] <= t ? base + half : base;
    len -= half;
  }
  return (base - times) + (*base <= t ? 1 : 0);
}

}  // namespace

FeatureEvaluator::FeatureEvaluator(std::shared_ptr<const EventTable> table,
                                   std::vector<size_t> selected)
    : table_(std::move(table)) {
  const std::vector<FeatureSpec>& features = table_->definition().features;
  if (selected.empty()) {
    for (size_t i = 0; i < features.size(); ++i) selected.push_back(i);
  }
  for (size_t index : selected) {
    const FeatureSpec& f = features[index];
    Planned p;
    p.feature = index;
    p.aggregation = f.aggregation;
    p.column = &table_->ColumnOfFeature(index);
    p.output_type = FeatureOutputType(f.aggregation, p.column->type());
    if (f.aggregation != Aggregation::kRaw) {
      auto it = std::find(windows_.begin(), windows_.end(), f.window_micros);
      p.window_slot = static_cast<int>(it - windows_.begin());
      if (it == windows_.end()) windows_.push_back(f.window_micros);
    }
    plan_.push_back(p);
  }
}

std::vector<FeatureColumn> FeatureEvaluator::MakeColumns(size_t n) const {
  std::vector<FeatureColumn> columns;
  columns.reserve(plan_.size());
  for (const Planned& p : plan_) {
    columns.emplace_back(p.output_type);
    columns.back().Resize(n);
  }
  return columns;
}

void FeatureEvaluator::EvaluateAggregate(const Planned& p, int64_t lo, int64_t hi,
                                         FeatureColumn& out, size_t row) const {
  const EventColumn& c = *p.column;
  if (p.aggregation == Aggregation::kLast) {
    for (int64_t i = hi - 1; i >= lo; --i) {
      if (c.IsValid(i)) return CopyValue(c, i, out, row);
    }
    return SetStatus(out, row, ValueStatus::kNull);
  }
  const int64_t n = CountValid(c, lo, hi);
  if (p.aggregation == Aggregation::kCount) return SetInt(out, row, n);
  if (n == 0) return SetStatus(out, row, ValueStatus::kNull);
  const bool is_double = c.type() == DataType::kDouble;
  const bool is_bool = c.type() == DataType::kBool;
  const double* d = c.doubles().data();
  const int64_t* v = c.ints().data();  // INT64 or TIMESTAMP
  const uint8_t* b = c.bools().data();  // BOOL: 0/1
  switch (p.aggregation) {
    case Aggregation::kSum: {
      if (is_double) return SetDouble(out, row, Moments<double>::Sum(c, d, lo, hi));
      int64_t s = 0;
      if (is_bool) {
        ForEachValid(c, b, lo, hi, [&s](uint8_t x) { s += x; });
        return SetInt(out, row, s);
      }
      bool overflow = false;
      ForEachValid(c, v, lo, hi, [&](int64_t x) { overflow |= __builtin_add_overflow(s, x, &s); });
      if (overflow) return SetStatus(out, row, ValueStatus::kNull);
      return SetInt(out, row, s);
    }
    case Aggregation::kMean:
      return SetDouble(out, row,
                       (is_double ? Moments<double>::Sum(c, d, lo, hi)
                        : is_bool ? Moments<uint8_t>::Sum(c, b, lo, hi)
                                  : Moments<int64_t>::Sum(c, v, lo, hi)) /
                           static_cast<double>(n));
    case Aggregation::kStddev:
      return SetDouble(out, row,
                       is_double ? Moments<double>::Stddev(c, d, lo, hi, n)
                       : is_bool ? Moments<uint8_t>::Stddev(c, b, lo, hi, n)
                                 : Moments<int64_t>::Stddev(c, v, lo, hi, n));
    case Aggregation::kMin:
    case Aggregation::kMax: {
      const bool want_max = p.aggregation == Aggregation::kMax;
      if (is_double) return SetDouble(out, row, Extreme(c, d, lo, hi, want_max));
      return SetInt(out, row, Extreme(c, v, lo, hi, want_max));
    }
    default:
      return SetStatus(out, row, ValueStatus::kNull);  // unreachable: validated
  }
}

void FeatureEvaluator::EvaluateInto(int32_t entity, int64_t as_of,
                                    std::vector<FeatureColumn>& out, size_t first_column,
                                    size_t row) const {
  const EventTable& t = *table_;
  const int64_t* times = t.event_times().data();
  int64_t begin = 0;
  int64_t hi = 0;
  if (entity >= 0) {
    begin = t.EntityBegin(entity);
    hi = FirstAfter(times, begin, t.EntityEnd(entity), as_of);
  }
  if (hi == begin) {  // unknown entity, or nothing at or before as_of
    for (size_t k = 0; k < plan_.size(); ++k) {
      SetStatus(out[first_column + k], row, ValueStatus::kEntityUnknown);
    }
    return;
  }
  const int64_t latest = hi - 1;
  const int64_t ttl = t.definition().ttl_micros;
  int64_t age = 0;
  const bool expired =
      ttl > 0 && (__builtin_sub_overflow(as_of, times[latest], &age) || age > ttl);

  // The first event of each distinct window (as_of - window, as_of].
  constexpr size_t kInlineWindows = 16;
  int64_t inline_lo[kInlineWindows];
  std::vector<int64_t> heap_lo;
  int64_t* lo = inline_lo;
  if (windows_.size() > kInlineWindows) {
    heap_lo.resize(windows_.size());
    lo = heap_lo.data();
  }
  for (size_t w = 0; w < windows_.size(); ++w) {
    int64_t threshold = 0;
    lo[w] = __builtin_sub_overflow(as_of, windows_[w], &threshold)
                ? begin
                : FirstAfter(times, begin, hi, threshold);
  }

  for (size_t k = 0; k < plan_.size(); ++k) {
    const Planned& p = plan_[k];
    FeatureColumn& column = out[first_column + k];
    if (p.aggregation != Aggregation::kRaw) {
      EvaluateAggregate(p, lo[p.window_slot], hi, column, row);
    } else if (expired) {
      SetStatus(column, row, ValueStatus::kExpired);
    } else if (!p.column->IsValid(latest)) {
      SetStatus(column, row, ValueStatus::kNull);
    } else {
      CopyValue(*p.column, latest, column, row);
    }
  }
}

std::vector<FeatureValue> FeatureEvaluator::Evaluate(const EntityKey& key, int64_t as_of) const {
  std::vector<FeatureColumn> columns = MakeColumns(1);
  EvaluateInto(table_->entities().Find(key), as_of, columns, 0, 0);
  std::vector<FeatureValue> values(columns.size());
  for (size_t k = 0; k < columns.size(); ++k) {
    values[k].status = columns[k].status[0];
    values[k].value = columns[k].Get(0);
  }
  return values;
}

}  // namespace mlops::features
