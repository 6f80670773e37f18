#include "services/monitoring/feature_drift.h"

#include <cmath>
#include <limits>
#include <utility>

#include "common/status/status_macros.h"
#include "services/monitoring/drift_statistics.h"
#include "services/monitoring/ecdf_comparison.h"
#include "services/monitoring/ks_test.h"
#include "services/monitoring/parallel_for.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kFewDistinctValues = 5;

// Drops keys that are empty on both sides.
AlignedCounts DropEmptyKeys(AlignedCounts in) {
  AlignedCounts out;
  for (size_t i = 0; i < in.keys.size(); ++i) {
    if (in.reference[i] == 0 && in.current[i] == 0) continue;
    out.keys.push_back(std::move(in.keys[i]));
    out.reference.push_back(in.reference[i]);
    out.current.push_back(in.current[i]);
  }
  return out;
}

// Chi-square, Z (at most 2 keys), Jensen-Shannon (base 2) and PSI of aligned
// counts, into `r`.
absl::Status CountStatistics(const AlignedCounts& counts, FeatureDriftResult* r) {
  MLOPS_ASSIGN_OR_RETURN(const ChiSquareResult chi,
                         ChiSquareOfCounts(counts.reference, counts.current));
  r->chi_square_statistic = chi.statistic;
  r->chi_square_p_value = chi.p_value;
  if (counts.keys.size() <= 2) {
    MLOPS_ASSIGN_OR_RETURN(
        const ZTestResult z,
        ProportionsZTest(static_cast<int64_t>(counts.reference[0]), r->reference_count,
                         static_cast<int64_t>(counts.current[0]), r->current_count));
    r->z_statistic = z.statistic;
    r->z_p_value = z.p_value;
  }
  MLOPS_ASSIGN_OR_RETURN(r->jensenshannon,
                         JensenShannonDistance(counts.reference, counts.current, 2.0));
  MLOPS_ASSIGN_OR_RETURN(r->psi, PopulationStabilityIndex(counts.reference, counts.current));
  return absl::OkStatus();
}

absl::Status Categorical(const FeatureDriftInput& in, FeatureDriftResult* r) {
  if (in.reference_categories == nullptr || in.current_categories == nullptr) {
    return absl::FailedPreconditionError("categorical feature without category counts");
  }
  MLOPS_ASSIGN_OR_RETURN(AlignedCounts aligned,
                         AlignCategories(*in.reference_categories, *in.current_categories));
  r->categories = DropEmptyKeys(std::move(aligned));
  r->reference_count = in.reference_categories->Total();
  r->current_count = in.current_categories->Total();
  if (r->reference_count <= 0 || r->current_count <= 0) {
    return absl::FailedPreconditionError("reference or current has no values");
  }
  r->distinct_values = static_cast<int64_t>(r->categories.keys.size());
  r->exact = true;  // counts are the whole story for a categorical feature
  return CountStatistics(r->categories, r);
}

// Both sides hold raw values: every statistic exact.
absl::Status NumericalExact(const NumericalFeatureData& d, const DriftOptions& options,
                            FeatureDriftResult* r) {
  const SortedSample& ref = *d.reference_values;
  const SortedSample& cur = *d.current_values;
  if (ref.empty() || cur.empty()) {
    return absl::FailedPreconditionError("reference or current has no values");
  }
  r->exact = true;
  r->reference_count = static_cast<int64_t>(ref.size());
  r->current_count = static_cast<int64_t>(cur.size());
  const EcdfComparison c = CompareSortedSamples(ref, cur);
  r->ks_p_value = KsTwoSamplePValue(r->reference_count, r->current_count, c.ks_statistic,
                                    nullptr, &r->ks_statistic);
  r->ks_statistic_upper_bound = r->ks_statistic;
  r->wasserstein = c.wasserstein;
  r->wasserstein_error_bound = 0;
  r->wasserstein_normalized = NormalizedWasserstein(c.wasserstein, ref.stddev());
  r->distinct_values = c.distinct_values;

  std::vector<double> edges;
  if (d.reference_histogram.histogram != nullptr) {
    edges = d.reference_histogram.histogram->edges;
  } else if (d.current_histogram.histogram != nullptr) {
    edges = d.current_histogram.histogram->edges;
  } else {
    edges = stats::ChooseHistogramEdges(ref.min(), ref.max(), options.default_bins);
  }
  MLOPS_ASSIGN_OR_RETURN(r->reference_histogram, HistogramOfSorted(ref, edges));
  MLOPS_ASSIGN_OR_RETURN(r->current_histogram, HistogramOfSorted(cur, edges));
  r->categories = c.distinct_values <= kFewDistinctValues
                      ? AlignDistinctValues(ref, cur)
                      : AlignHistogramBins(r->reference_histogram, r->current_histogram);
  return CountStatistics(r->categories, r);
}

// A side's histogram: given, or binned from its raw values on `edges`.
absl::StatusOr<RangedHistogram> SideHistogram(const SortedSample* values,
                                              const RangedHistogram& given,
                                              const std::vector<double>& edges,
                                              stats::Histogram* storage) {
  if (values == nullptr) return given;
  MLOPS_ASSIGN_OR_RETURN(*storage, HistogramOfSorted(*values, edges));
  RangedHistogram out;
  out.histogram = storage;
  if (!values->empty()) {
    out.min = values->min();
    out.max = values->max();
  }
  return out;
}

// At least one side only has a histogram: bounded statistics.
absl::Status NumericalFromHistograms(const NumericalFeatureData& d, FeatureDriftResult* r) {
  const stats::Histogram* given = d.reference_histogram.histogram != nullptr
                                      ? d.reference_histogram.histogram
                                      : d.current_histogram.histogram;
  const bool ref_ok = d.reference_values != nullptr || d.reference_histogram.histogram != nullptr;
  const bool cur_ok = d.current_values != nullptr || d.current_histogram.histogram != nullptr;
  if (given == nullptr || !ref_ok || !cur_ok) {
    return absl::FailedPreconditionError(
        "numerical feature needs raw values or a histogram on each side");
  }
  MLOPS_ASSIGN_OR_RETURN(const RangedHistogram ref,
                         SideHistogram(d.reference_values, d.reference_histogram, given->edges,
                                       &r->reference_histogram));
  MLOPS_ASSIGN_OR_RETURN(const RangedHistogram cur,
                         SideHistogram(d.current_values, d.current_histogram, given->edges,
                                       &r->current_histogram));
  if (ref.histogram != &r->reference_histogram) r->reference_histogram = *ref.histogram;
  if (cur.histogram != &r->current_histogram) r->current_histogram = *cur.histogram;
  r->reference_count = r->reference_histogram.Total();
  r->current_count = r->current_histogram.Total();

  MLOPS_ASSIGN_OR_RETURN(const HistogramKsResult ks,
                         KsFromHistograms(r->reference_histogram, r->current_histogram));
  r->ks_statistic = ks.statistic;
  r->ks_statistic_upper_bound = ks.statistic_upper_bound;
  r->ks_p_value = ks.p_value;
  RangedHistogram ref_ranged = ref;
  RangedHistogram cur_ranged = cur;
  ref_ranged.histogram = &r->reference_histogram;
  cur_ranged.histogram = &r->current_histogram;
  MLOPS_ASSIGN_OR_RETURN(const HistogramWassersteinResult w,
                         WassersteinFromHistograms(ref_ranged, cur_ranged));
  r->wasserstein = w.distance;
  r->wasserstein_error_bound = w.error_bound();
  const double ref_stddev =
      d.reference_values != nullptr ? d.reference_values->stddev() : d.reference_stddev;
  if (std::isfinite(ref_stddev)) {
    r->wasserstein_normalized = NormalizedWasserstein(w.distance, ref_stddev);
  }
  r->distinct_values = d.distinct_values;
  r->categories = AlignHistogramBins(r->reference_histogram, r->current_histogram);
  return CountStatistics(r->categories, r);
}

double ScoreOf(StatTest test, const FeatureDriftResult& r) {
  switch (test) {
    case StatTest::kKolmogorovSmirnov:
      return r.ks_p_value;
    case StatTest::kChiSquare:
      return r.chi_square_p_value;
    case StatTest::kZTest:
      return r.z_p_value;
    case StatTest::kWasserstein:
      return r.wasserstein_normalized;
    case StatTest::kJensenShannon:
      return r.jensenshannon;
    case StatTest::kPsi:
      return r.psi;
  }
  return FeatureDriftResult::kNaN;
}

absl::Status Decide(const FeatureDriftInput& in, FeatureDriftResult* r) {
  const int64_t n_unique =
      r->distinct_values < 0 ? std::numeric_limits<int64_t>::max() : r->distinct_values;
  MLOPS_ASSIGN_OR_RETURN(const StatTestChoice choice,
                         ChooseStatTest(in.kind, r->reference_count, n_unique, in.override));
  r->test = choice.test;
  r->threshold = choice.threshold;
  r->score = ScoreOf(choice.test, *r);
  if (std::isnan(r->score)) {
    return absl::FailedPreconditionError(
        "stat test \"" + std::string(StatTestName(choice.test)) +
        "\" cannot be computed for this feature (z needs at most 2 categories, wasserstein a "
        "known reference stddev)");
  }
  r->drifted = IsDrifted(choice.test, r->score, choice.threshold);
  return absl::OkStatus();
}

absl::Status Compute(const FeatureDriftInput& in, const DriftOptions& options,
                     FeatureDriftResult* r) {
  if (in.kind == FeatureKind::kCategorical) {
    MLOPS_RETURN_IF_ERROR(Categorical(in, r));
  } else if (in.numerical.reference_values != nullptr && in.numerical.current_values != nullptr) {
    MLOPS_RETURN_IF_ERROR(NumericalExact(in.numerical, options, r));
  } else {
    MLOPS_RETURN_IF_ERROR(NumericalFromHistograms(in.numerical, r));
  }
  return Decide(in, r);
}

}  // namespace

FeatureDriftResult ComputeFeatureDrift(const FeatureDriftInput& input,
                                       const DriftOptions& options) {
  FeatureDriftResult r;
  r.name = input.name;
  r.kind = input.kind;
  absl::Status s = Compute(input, options, &r);
  if (!s.ok()) {
    r.status = absl::Status(s.code(), "feature \"" + input.name + "\": " + std::string(s.message()));
    r.drifted = false;
  }
  return r;
}

DriftReport ComputeDriftReport(const std::vector<FeatureDriftInput>& inputs,
                               const DriftOptions& options) {
  DriftReport report;
  report.features.resize(inputs.size());
  ParallelFor(inputs.size(), options.num_threads, [&](size_t i) {
    report.features[i] = ComputeFeatureDrift(inputs[i], options);
  });
  std::vector<bool> flags;
  for (const FeatureDriftResult& f : report.features) {
    if (f.status.ok()) flags.push_back(f.drifted);
  }
  report.dataset = ComputeDatasetDrift(flags, options.dataset_drift_share);
  return report;
}

}  // namespace mlops::monitoring
