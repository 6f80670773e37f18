#pragma once
// Which drift test judges a feature, in the manner of Evidently
// (evidently/calculations/stattests/registry.py, _get_default_stattest), and
// the dataset-level verdict. Pure functions; thread-safe.
//
// Default test, with n_unique the distinct values of reference and current
// together:
//   reference rows <= 1000:
//     numerical, n_unique > 5      -> Kolmogorov-Smirnov  (drift: p < 0.05)
//     numerical or categorical,
//       n_unique 3..5 (num) / > 2  -> chi-square           (drift: p < 0.05)
//       n_unique <= 2              -> Z-test of proportions (drift: p < 0.05)
//   reference rows > 1000:
//     numerical, n_unique > 5      -> Wasserstein distance normed by the
//                                     reference stddev     (drift: >= 0.1)
//     otherwise                    -> Jensen-Shannon distance, base 2
//                                                          (drift: >= 0.1)
// PSI (drift: >= 0.1) is available as an override. Per-feature overrides
// name the test and optionally the threshold.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::monitoring {

enum class FeatureKind { kNumerical, kCategorical };

enum class StatTest {
  kKolmogorovSmirnov,
  kChiSquare,
  kZTest,
  kWasserstein,  // normed by the reference's standard deviation
  kJensenShannon,
  kPsi,
};

// Evidently's names: "ks", "chisquare", "z", "wasserstein", "jensenshannon",
// "psi".
std::string_view StatTestName(StatTest test);
// InvalidArgument for an unknown name.
absl::StatusOr<StatTest> ParseStatTest(std::string_view name);

// KS, chi-square and Z report p-values (drift when score < threshold); the
// others report distances (drift when score >= threshold).
bool IsPValueTest(StatTest test);
// 0.05 for p-value tests, 0.1 for distances (Evidently's defaults).
double DefaultThreshold(StatTest test);
bool IsDrifted(StatTest test, double score, double threshold);
// KS and Wasserstein need a numerical feature; the rest take both kinds.
bool IsApplicable(StatTest test, FeatureKind kind);

struct StatTestChoice {
  StatTest test = StatTest::kKolmogorovSmirnov;
  double threshold = 0.05;
};

// A per-feature override: the test, and the threshold (default: the test's).
struct StatTestOverride {
  StatTest test = StatTest::kKolmogorovSmirnov;
  std::optional<double> threshold;
};

// Evidently's default for a feature.
StatTestChoice DefaultStatTest(FeatureKind kind, int64_t reference_rows, int64_t n_unique);

// The override if given (InvalidArgument if it does not apply to `kind`, or
// its threshold is negative or not finite), else the default.
absl::StatusOr<StatTestChoice> ChooseStatTest(FeatureKind kind, int64_t reference_rows,
                                              int64_t n_unique,
                                              const std::optional<StatTestOverride>& override);

// Dataset drift: share of drifted features >= share_threshold (Evidently's
// drift_share, default 0.5). No features: share 0, not drifted.
struct DatasetDrift {
  int64_t drifted_features = 0;
  int64_t total_features = 0;
  double drifted_share = 0;
  double share_threshold = 0.5;
  bool drifted = false;
};
DatasetDrift ComputeDatasetDrift(const std::vector<bool>& feature_drifted,
                                 double share_threshold = 0.5);

}  // namespace mlops::monitoring
