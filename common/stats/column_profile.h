#pragma once
// Column profiles: the statistics ingestion computes per dataset version and
// column, and monitoring compares live windows against. ColumnProfile mirrors
// mlops.common.v1.ColumnProfile field by field (conversion lives in the
// service layer). Everything in it merges: a version's profile equals
// Merge(parent's profile, batch's profile).
//
// What merges exactly and what approximately:
//   count, null_count, non_finite_count, min, max   exact
//   mean, m2, stddev                                exact up to rounding (Chan et al.)
//   histogram                                       exact (fixed edges; see below)
//   distinct_sketch / distinct_estimate             identical to one sketch over both
//   quantile_sketch / quantiles                     within the sketch's rank bound
//   top_categories / other_category_count           exact when both inputs list every
//                                                   category (other_category_count == 0);
//                                                   otherwise listed counts are lower bounds
//
// Histogram edges are the dataset's, fixed once (fixed_histogram.h). A builder
// given edges counts exactly. A builder without edges (a dataset's first data)
// chooses them in Finish() from its min and max; its counts are exact when the
// column had at most ProfileOptions::exact_histogram_buffer finite values,
// otherwise they come from the quantile sketch's weighted items (each bin
// within twice the sketch's rank bound; the total is exact).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/stats/category_counter.h"
#include "common/stats/data_type.h"
#include "common/stats/fixed_histogram.h"
#include "common/stats/hyperloglog.h"
#include "common/stats/moments.h"
#include "common/stats/quantile_sketch.h"

namespace mlops::stats {

// The quantiles every numeric profile reports, in this order.
inline constexpr double kProfileQuantiles[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
inline constexpr int kDefaultMaxTopCategories = 100;

struct QuantileValue {
  double q = 0;
  double value = 0;
  friend bool operator==(const QuantileValue& a, const QuantileValue& b) {
    return a.q == b.q && a.value == b.value;
  }
};

// Mirrors mlops.common.v1.ColumnProfile. Numeric fields (min .. quantiles,
// histogram) are set for INT64, DOUBLE, TIMESTAMP (micros) and BOOL (0/1) and
// are 0/empty otherwise; categories for STRING and BOOL. Sketch bytes are
// versioned by their first byte (quantile_sketch.h, hyperloglog.h).
struct ColumnProfile {
  std::string name;
  DataType type = DataType::kUnspecified;
  int64_t count = 0;  // rows seen, including nulls
  int64_t null_count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;  // population
  double m2 = 0;      // sum of squared deviations from the mean
  int64_t non_finite_count = 0;  // NaN and +/-inf, excluded from the numeric stats
  std::vector<QuantileValue> quantiles;
  Histogram histogram;
  std::vector<CategoryCount> top_categories;  // most frequent first
  int64_t other_category_count = 0;
  double distinct_estimate = 0;  // distinct non-null values (HyperLogLog)
  std::string quantile_sketch;
  std::string distinct_sketch;

  // Values that entered min/max/mean/quantiles/histogram.
  int64_t numeric_count() const {
    return IsNumeric(type) ? count - null_count - non_finite_count : 0;
  }
};

// Mirrors mlops.common.v1.DatasetProfile.
struct DatasetProfile {
  int64_t row_count = 0;
  std::vector<ColumnProfile> columns;

  // nullptr when no column has this name.
  const ColumnProfile* Find(std::string_view name) const;
};

struct ProfileOptions {
  // The dataset's fixed edges. Empty: chosen in Finish() from this data.
  std::vector<double> histogram_edges;
  int num_histogram_bins = kDefaultHistogramBins;
  int max_top_categories = kDefaultMaxTopCategories;
  int category_capacity = CategoryCounter::kDefaultCapacity;
  int quantile_sketch_k = QuantileSketch::kDefaultK;
  // Without fixed edges, up to this many finite values are kept so that the
  // first histogram is exact (8 bytes each).
  int64_t exact_histogram_buffer = 1 << 16;
};

// Accumulates one column's values. The caller passes values of the column's
// type (rows are schema-validated first): AddInt64 for INT64, AddDouble for
// DOUBLE, and so on. Owns its sketches (~16 KB for the distinct sketch, up to
// ~k * log2(n / k) doubles for the quantile sketch); not thread-safe.
class ColumnProfileBuilder {
 public:
  // InvalidArgument for an unspecified type or invalid histogram edges.
  static absl::StatusOr<ColumnProfileBuilder> Create(std::string name, DataType type,
                                                     ProfileOptions options = {});

  void AddNull();
  void AddInt64(int64_t v);
  // NaN and +/-inf are counted in non_finite_count and the distinct sketch only.
  void AddDouble(double v);
  void AddString(std::string_view v);
  void AddBool(bool v);
  void AddTimestamp(int64_t micros);

  // The profile of everything added so far; may be called more than once.
  ColumnProfile Finish() const;

 private:
  ColumnProfileBuilder(std::string name, DataType type, ProfileOptions options,
                       std::optional<FixedHistogram> histogram);
  void AddFinite(double x);

  std::string name_;
  DataType type_;
  ProfileOptions options_;
  int64_t count_ = 0;
  int64_t null_count_ = 0;
  int64_t non_finite_count_ = 0;
  Moments moments_;
  QuantileSketch quantiles_;
  std::optional<FixedHistogram> histogram_;  // set when edges were given
  std::vector<double> pending_;              // values kept for the first histogram
  bool pending_overflowed_ = false;
  HyperLogLog distinct_;
  CategoryCounter categories_;
  int64_t true_count_ = 0;
  int64_t false_count_ = 0;
};

// The profile of the concatenation of the data behind `a` and `b`.
// InvalidArgument when names or types differ or a sketch does not parse;
// FailedPrecondition when histogram edges differ.
absl::StatusOr<ColumnProfile> Merge(const ColumnProfile& a, const ColumnProfile& b,
                                    int max_top_categories = kDefaultMaxTopCategories);

// Column by column (matched by position; names must agree), row counts added.
// A profile with no columns and no rows is the identity.
absl::StatusOr<DatasetProfile> Merge(const DatasetProfile& a, const DatasetProfile& b,
                                     int max_top_categories = kDefaultMaxTopCategories);

}  // namespace mlops::stats
