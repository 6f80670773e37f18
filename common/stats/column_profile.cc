#include "common/stats/column_profile.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/stats/byte_io.h"
#include "common/stats/hash.h"

namespace mlops::stats {
namespace {

std::vector<double> ProfileQuantileLevels() {
  return std::vector<double>(std::begin(kProfileQuantiles), std::end(kProfileQuantiles));
}

void FillNumeric(const Moments& m, const QuantileSketch& sketch, ColumnProfile* p) {
  p->min = m.min();
  p->max = m.max();
  p->mean = m.mean();
  p->m2 = m.m2();
  p->stddev = m.stddev();
  p->quantile_sketch = sketch.Serialize();
  p->quantiles.clear();
  if (sketch.count() == 0) return;
  const std::vector<double> levels = ProfileQuantileLevels();
  const std::vector<double> values = sketch.Quantiles(levels);
  for (size_t i = 0; i < levels.size(); ++i) p->quantiles.push_back({levels[i], values[i]});
}

void FillCategories(const CategoryCounter& counter, int max_top, ColumnProfile* p) {
  p->top_categories = counter.Top(max_top);
  int64_t listed = 0;
  for (const CategoryCount& c : p->top_categories) listed += c.count;
  p->other_category_count = counter.total() - listed;
}

void FillDistinct(const HyperLogLog& hll, ColumnProfile* p) {
  p->distinct_estimate = hll.Estimate();
  p->distinct_sketch = hll.Serialize();
}

absl::StatusOr<QuantileSketch> ParseQuantileSketch(const ColumnProfile& p, int k_if_empty) {
  if (p.quantile_sketch.empty()) return QuantileSketch(k_if_empty);
  absl::StatusOr<QuantileSketch> s = QuantileSketch::Deserialize(p.quantile_sketch);
  if (!s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("column \"", p.name, "\": ", s.status().message()));
  }
  return s;
}

absl::StatusOr<HyperLogLog> ParseDistinctSketch(const ColumnProfile& p) {
  if (p.distinct_sketch.empty()) return HyperLogLog();
  absl::StatusOr<HyperLogLog> h = HyperLogLog::Deserialize(p.distinct_sketch);
  if (!h.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("column \"", p.name, "\": ", h.status().message()));
  }
  return h;
}

// Both category lists summed in a counter that never reduces (lists are short).
CategoryCounter CounterOf(const std::vector<CategoryCount>& a, const std::vector<CategoryCount>& b) {
  CategoryCounter counter(static_cast<int>(a.size() + b.size()) + 1);
  for (const auto* list : {&a, &b}) {
    for (const CategoryCount& c : *list) counter.Add(c.value, c.count);
  }
  return counter;
}

}  // namespace

const ColumnProfile* DatasetProfile::Find(std::string_view name) const {
  for (const ColumnProfile& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

absl::StatusOr<ColumnProfileBuilder> ColumnProfileBuilder::Create(std::string name, DataType type,
                                                                  ProfileOptions options) {
  if (type == DataType::kUnspecified) {
    return absl::InvalidArgumentError(absl::StrCat("column \"", name, "\": type is unspecified"));
  }
  std::optional<FixedHistogram> histogram;
  if (!options.histogram_edges.empty()) {
    absl::StatusOr<FixedHistogram> h = FixedHistogram::Create(options.histogram_edges);
    if (!h.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("column \"", name, "\": ", h.status().message()));
    }
    histogram = *std::move(h);
  }
  return ColumnProfileBuilder(std::move(name), type, std::move(options), std::move(histogram));
}

ColumnProfileBuilder::ColumnProfileBuilder(std::string name, DataType type, ProfileOptions options,
                                           std::optional<FixedHistogram> histogram)
    : name_(std::move(name)),
      type_(type),
      options_(std::move(options)),
      quantiles_(options_.quantile_sketch_k),
      histogram_(std::move(histogram)),
      categories_(options_.category_capacity) {}

void ColumnProfileBuilder::AddFinite(double x) {
  moments_.Add(x);
  quantiles_.Add(x);
  if (histogram_.has_value()) {
    histogram_->Add(x);
  } else if (!pending_overflowed_) {
    if (static_cast<int64_t>(pending_.size()) < options_.exact_histogram_buffer) {
      pending_.push_back(x);
    } else {
      pending_overflowed_ = true;
      std::vector<double>().swap(pending_);
    }
  }
}

void ColumnProfileBuilder::AddNull() {
  ++count_;
  ++null_count_;
}

void ColumnProfileBuilder::AddInt64(int64_t v) {
  ++count_;
  distinct_.AddHash(XxHash64U64(static_cast<uint64_t>(v)));
  AddFinite(static_cast<double>(v));
}

void ColumnProfileBuilder::AddTimestamp(int64_t micros) { AddInt64(micros); }

void ColumnProfileBuilder::AddDouble(double v) {
  ++count_;
  distinct_.AddHash(XxHash64U64(CanonicalDoubleBits(v)));
  if (std::isfinite(v)) {
    AddFinite(v);
  } else {
    ++non_finite_count_;
  }
}

void ColumnProfileBuilder::AddString(std::string_view v) {
  ++count_;
  const uint64_t hash = XxHash64(v);  // once, for both sketches
  distinct_.AddHash(hash);
  categories_.AddHashed(v, hash);
}

void ColumnProfileBuilder::AddBool(bool v) {
  ++count_;
  int64_t& seen = v ? true_count_ : false_count_;
  // Adding a value again leaves the sketch as it is: each of the two goes in once.
  if (seen++ == 0) distinct_.AddHash(XxHash64Byte(v ? 1 : 0));
  AddFinite(v ? 1.0 : 0.0);
}

ColumnProfile ColumnProfileBuilder::Finish() const {
  ColumnProfile p;
  p.name = name_;
  p.type = type_;
  p.count = count_;
  p.null_count = null_count_;
  p.non_finite_count = non_finite_count_;
  if (IsNumeric(type_)) {
    FillNumeric(moments_, quantiles_, &p);
    if (histogram_.has_value()) {
      p.histogram = histogram_->data();
    } else if (moments_.count() > 0) {
      absl::StatusOr<FixedHistogram> h = FixedHistogram::Create(
          ChooseHistogramEdges(moments_.min(), moments_.max(), options_.num_histogram_bins));
      if (h.ok()) {
        if (pending_overflowed_) {
          for (const auto& [value, weight] : quantiles_.WeightedItems()) h->Add(value, weight);
        } else {
          for (double x : pending_) h->Add(x);
        }
        p.histogram = h->data();
      }
    }
  }
  if (type_ == DataType::kString) {
    FillCategories(categories_, options_.max_top_categories, &p);
  } else if (type_ == DataType::kBool) {
    CategoryCounter bools(2);
    bools.Add("true", true_count_);
    bools.Add("false", false_count_);
    FillCategories(bools, options_.max_top_categories, &p);
  }
  FillDistinct(distinct_, &p);
  return p;
}

absl::StatusOr<ColumnProfile> Merge(const ColumnProfile& a, const ColumnProfile& b,
                                    int max_top_categories) {
  if (a.name != b.name || a.type != b.type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot merge profiles of different columns: \"", a.name, "\" (", std::string(DataTypeName(a.type)),
        ") and \"", b.name, "\" (", std::string(DataTypeName(b.type)), ")"));
  }
  ColumnProfile out;
  out.name = a.name;
  out.type = a.type;
  out.count = a.count + b.count;
  out.null_count = a.null_count + b.null_count;
  out.non_finite_count = a.non_finite_count + b.non_finite_count;
  if (IsNumeric(a.type)) {
    Moments m = Moments::FromParts(a.numeric_count(), a.mean, a.m2, a.min, a.max);
    m.Merge(Moments::FromParts(b.numeric_count(), b.mean, b.m2, b.min, b.max));
    absl::StatusOr<QuantileSketch> qa = ParseQuantileSketch(a, QuantileSketch::kDefaultK);
    if (!qa.ok()) return qa.status();
    absl::StatusOr<QuantileSketch> qb = ParseQuantileSketch(b, qa->k());
    if (!qb.ok()) return qb.status();
    if (absl::Status s = qa->Merge(*qb); !s.ok()) return s;
    FillNumeric(m, *qa, &out);
    absl::StatusOr<FixedHistogram> ha = FixedHistogram::FromData(a.histogram);
    if (!ha.ok()) return ha.status();
    absl::StatusOr<FixedHistogram> hb = FixedHistogram::FromData(b.histogram);
    if (!hb.ok()) return hb.status();
    if (absl::Status s = ha->Merge(*hb); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("column \"", a.name, "\": ", s.message()));
    }
    out.histogram = ha->data();
  }
  if (IsCategorical(a.type)) {
    const int64_t total = (a.count - a.null_count) + (b.count - b.null_count);
    const CategoryCounter counter = CounterOf(a.top_categories, b.top_categories);
    const int keep = std::max({max_top_categories, static_cast<int>(a.top_categories.size()),
                               static_cast<int>(b.top_categories.size())});
    out.top_categories = counter.Top(keep);
    int64_t listed = 0;
    for (const CategoryCount& c : out.top_categories) listed += c.count;
    out.other_category_count = total - listed;
  }
  absl::StatusOr<HyperLogLog> da = ParseDistinctSketch(a);
  if (!da.ok()) return da.status();
  absl::StatusOr<HyperLogLog> db = ParseDistinctSketch(b);
  if (!db.ok()) return db.status();
  da->Merge(*db);
  FillDistinct(*da, &out);
  return out;
}

absl::StatusOr<DatasetProfile> Merge(const DatasetProfile& a, const DatasetProfile& b,
                                     int max_top_categories) {
  if (a.columns.empty() && a.row_count == 0) return b;
  if (b.columns.empty() && b.row_count == 0) return a;
  if (a.columns.size() != b.columns.size()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot merge profiles with ", a.columns.size(),
                                                   " and ", b.columns.size(), " columns"));
  }
  DatasetProfile out;
  out.row_count = a.row_count + b.row_count;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    absl::StatusOr<ColumnProfile> c = Merge(a.columns[i], b.columns[i], max_top_categories);
    if (!c.ok()) return c.status();
    out.columns.push_back(*std::move(c));
  }
  return out;
}

}  // namespace mlops::stats
