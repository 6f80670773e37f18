#include "services/monitoring/stat_test_selection.h"

#include <cmath>

#include "absl/status/status.h"

namespace mlops::monitoring {
namespace {

constexpr int64_t kSmallReferenceRows = 1000;
constexpr int64_t kFewUniqueValues = 5;
constexpr int64_t kBinaryUniqueValues = 2;

struct NamedTest {
  StatTest test;
  std::string_view name;
};
constexpr NamedTest kNames[] = {
    {StatTest::kKolmogorovSmirnov, "ks"}, {StatTest::kChiSquare, "chisquare"},
    {StatTest::kZTest, "z"},              {StatTest::kWasserstein, "wasserstein"},
    {StatTest::kJensenShannon, "jensenshannon"}, {StatTest::kPsi, "psi"},
};

}  // namespace

std::string_view StatTestName(StatTest test) {
  for (const NamedTest& n : kNames) {
    if (n.test == test) return n.name;
  }
  return "unknown";
}

absl::StatusOr<StatTest> ParseStatTest(std::string_view name) {
  for (const NamedTest& n : kNames) {
    if (n.name == name) return n.test;
  }
  return absl::InvalidArgumentError("unknown stat test \"" + std::string(name) +
                                    "\" (known: ks, chisquare, z, wasserstein, jensenshannon, psi)");
}

bool IsPValueTest(StatTest test) {
  return test == StatTest::kKolmogorovSmirnov || test == StatTest::kChiSquare ||
         test == StatTest::kZTest;
}

double DefaultThreshold(StatTest test) { return IsPValueTest(test) ? 0.05 : 0.1; }

bool IsDrifted(StatTest test, double score, double threshold) {
  return IsPValueTest(test) ? score < threshold : score >= threshold;
}

bool IsApplicable(StatTest test, FeatureKind kind) {
  if (test == StatTest::kKolmogorovSmirnov || test == StatTest::kWasserstein) {
    return kind == FeatureKind::kNumerical;
  }
  return true;
}

StatTestChoice DefaultStatTest(FeatureKind kind, int64_t reference_rows, int64_t n_unique) {
  StatTest test = StatTest::kJensenShannon;
  if (reference_rows <= kSmallReferenceRows) {
    if (kind == FeatureKind::kNumerical && n_unique > kFewUniqueValues) {
      test = StatTest::kKolmogorovSmirnov;
    } else {
      test = n_unique > kBinaryUniqueValues ? StatTest::kChiSquare : StatTest::kZTest;
    }
  } else if (kind == FeatureKind::kNumerical && n_unique > kFewUniqueValues) {
    test = StatTest::kWasserstein;
  }
  return StatTestChoice{test, DefaultThreshold(test)};
}

absl::StatusOr<StatTestChoice> ChooseStatTest(FeatureKind kind, int64_t reference_rows,
                                              int64_t n_unique,
                                              const std::optional<StatTestOverride>& override) {
  if (!override.has_value()) return DefaultStatTest(kind, reference_rows, n_unique);
  if (!IsApplicable(override->test, kind)) {
    return absl::InvalidArgumentError("stat test \"" + std::string(StatTestName(override->test)) +
                                      "\" needs a numerical feature");
  }
  const double threshold = override->threshold.value_or(DefaultThreshold(override->test));
  if (!std::isfinite(threshold) || threshold < 0) {
    return absl::InvalidArgumentError("stat test threshold must be finite and >= 0");
  }
  return StatTestChoice{override->test, threshold};
}

DatasetDrift ComputeDatasetDrift(const std::vector<bool>& feature_drifted,
                                 double share_threshold) {
  DatasetDrift out;
  out.share_threshold = share_threshold;
  out.total_features = static_cast<int64_t>(feature_drifted.size());
  for (bool d : feature_drifted) out.drifted_features += d ? 1 : 0;
  if (out.total_features == 0) return out;
  out.drifted_share = static_cast<double>(out.drifted_features) / out.total_features;
  out.drifted = out.drifted_share >= share_threshold;
  return out;
}

}  // namespace mlops::monitoring
