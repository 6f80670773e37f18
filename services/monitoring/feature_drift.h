#pragma once
// The per-feature drift computation and the drift report over many features,
// in parallel. Given raw values on both sides (sorted samples) every
// statistic is exact and agrees with SciPy; otherwise the numerical
// statistics come from histograms on the reference's edges with the bounds of
// histogram_drift.h. The test that decides `drifted` is chosen by
// stat_test_selection.h (Evidently's rules) unless the feature overrides it.
//
// Inputs point at data the caller owns (non-owning, must outlive the call).
// The functions are pure; ComputeDriftReport runs features on
// options.num_threads std::threads.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/stats/fixed_histogram.h"
#include "services/monitoring/histogram.h"
#include "services/monitoring/histogram_drift.h"
#include "services/monitoring/sorted_sample.h"
#include "services/monitoring/stat_test_selection.h"

namespace mlops::monitoring {

struct NumericalFeatureData {
  // Raw values (finite, sorted). Both set: the exact path.
  const SortedSample* reference_values = nullptr;
  const SortedSample* current_values = nullptr;
  // Histograms on the same edges, with the range of their values; used for
  // a side without raw values, and their edges bin the raw values for PSI/JS.
  RangedHistogram reference_histogram;
  RangedHistogram current_histogram;
  // Population stddev of the reference, when reference_values is not set.
  double reference_stddev = std::numeric_limits<double>::quiet_NaN();
  // Distinct values in reference and current together, when known (e.g. a
  // HyperLogLog estimate); -1: unknown, taken as many.
  int64_t distinct_values = -1;
};

struct FeatureDriftInput {
  std::string name;
  FeatureKind kind = FeatureKind::kNumerical;
  NumericalFeatureData numerical;
  // Categorical features.
  const CategoryCounts* reference_categories = nullptr;
  const CategoryCounts* current_categories = nullptr;
  std::optional<StatTestOverride> override;
};

// Every statistic that applies, the test that decides and its verdict.
// Statistics that were not computed are NaN. Jensen-Shannon is base 2 (as
// Evidently reports it, in [0, 1]). For numerical features with more than 5
// distinct values PSI, JS and chi-square compare the histograms (bins with
// outliers); with at most 5, the counts of each distinct value.
struct FeatureDriftResult {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  std::string name;
  FeatureKind kind = FeatureKind::kNumerical;
  // Not OK: bad or missing input; the verdict fields are then meaningless.
  absl::Status status;
  StatTest test = StatTest::kKolmogorovSmirnov;
  double threshold = 0;
  double score = kNaN;  // p-value or distance, per IsPValueTest(test)
  bool drifted = false;
  // True when computed from raw values on both sides (SciPy-exact).
  bool exact = false;
  int64_t reference_count = 0;
  int64_t current_count = 0;
  int64_t distinct_values = -1;

  double ks_statistic = kNaN;
  // Equal to ks_statistic when exact; else the histogram bound.
  double ks_statistic_upper_bound = kNaN;
  double ks_p_value = kNaN;
  double wasserstein = kNaN;
  double wasserstein_error_bound = kNaN;  // 0 when exact
  double wasserstein_normalized = kNaN;   // / max(reference stddev, 0.001)
  double psi = kNaN;
  double jensenshannon = kNaN;
  double chi_square_statistic = kNaN;
  double chi_square_p_value = kNaN;
  double z_statistic = kNaN;
  double z_p_value = kNaN;

  // What was compared, enough to draw it: numerical histograms on the
  // reference edges, or the aligned category (or distinct value) counts.
  stats::Histogram reference_histogram;
  stats::Histogram current_histogram;
  AlignedCounts categories;
};

struct DriftOptions {
  // Threads for ComputeDriftReport; 0: one per hardware thread.
  int num_threads = 0;
  // Dataset drift when the share of drifted features is >= this.
  double dataset_drift_share = 0.5;
  // With raw values but no histogram given: this many equal-width bins over
  // the reference's [min, max] (stats::ChooseHistogramEdges).
  int default_bins = stats::kDefaultHistogramBins;
};

struct DriftReport {
  std::vector<FeatureDriftResult> features;
  // Over the features whose status is OK.
  DatasetDrift dataset;
};

FeatureDriftResult ComputeFeatureDrift(const FeatureDriftInput& input,
                                       const DriftOptions& options = DriftOptions());

// Results in input order.
DriftReport ComputeDriftReport(const std::vector<FeatureDriftInput>& inputs,
                               const DriftOptions& options = DriftOptions());

}  // namespace mlops::monitoring
