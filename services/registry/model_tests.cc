#include "services/registry/model_tests.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/registry/inline_matrix.h"

namespace mlops::registry {
namespace {

constexpr int kMaxRows = 10000;
constexpr int kMaxIterations = 100000;
constexpr int kWarmUp = 100;
constexpr std::size_t kMaxMismatches = 20;
const std::set<std::string>& BiasMetrics() {
  static const auto* const kMetrics =
      new std::set<std::string>{"accuracy",       "auc", "rmse", "mae", "positive_rate",
                                "true_positive_rate", "false_positive_rate"};
  return *kMetrics;
}

std::string Num(double v) { return absl::StrFormat("%.6g", v); }

CheckResult Error(CheckResult check, const absl::Status& status) {
  check.outcome = CheckOutcome::kError;
  check.message = std::string(status.message());
  return check;
}

absl::Status RowCount(int rows, const std::string& field) {
  if (rows < 1 || rows > kMaxRows) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": needs 1 .. ", kMaxRows, " rows, got ", rows));
  }
  return absl::OkStatus();
}

// The class a row's output predicts (binary: score >= threshold).
double PredictedClass(const xgb::Prediction& p, std::size_t row, double threshold) {
  if (p.outputs == 1) return p.values[row] >= threshold ? 1 : 0;
  const float* first = &p.values[row * p.outputs];
  return static_cast<double>(std::max_element(first, first + p.outputs) - first);
}

double Auc(const std::vector<double>& scores, const std::vector<double>& labels) {
  std::vector<std::size_t> order(scores.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0;
  double positives = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + j - 1) / 2) + 1;  // ties share a rank
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5) {
        positive_rank_sum += average_rank;
        positives += 1;
      }
    }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (positive_rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace

double BiasMetric(const std::string& metric, const std::vector<double>& scores,
                  const std::vector<double>& labels, double threshold) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (scores.empty()) return nan;
  if (metric == "auc") return Auc(scores, labels);
  double sum = 0;
  double count = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double predicted = scores[i] >= threshold ? 1 : 0;
    const double error = scores[i] - labels[i];
    if (metric == "rmse") {
      sum += error * error;
      count += 1;
    } else if (metric == "mae") {
      sum += std::abs(error);
      count += 1;
    } else if (metric == "accuracy") {
      sum += predicted == labels[i] ? 1 : 0;
      count += 1;
    } else if (metric == "positive_rate") {
      sum += predicted;
      count += 1;
    } else if (metric == "true_positive_rate" && labels[i] > 0.5) {
      sum += predicted;
      count += 1;
    } else if (metric == "false_positive_rate" && labels[i] <= 0.5) {
      sum += predicted;
      count += 1;
    }
  }
  if (count == 0) return nan;
  return metric == "rmse" ? std::sqrt(sum / count) : sum / count;
}

absl::Status ValidateModelTests(const v1::StageGate& gate, const std::string& field) {
  for (int i = 0; i < gate.latency_tests_size(); ++i) {
    const v1::LatencyBudgetTest& t = gate.latency_tests(i);
    const std::string f = absl::StrCat(field, ".latency_tests[", i, "]");
    if (absl::Status s = RowCount(t.sample_rows().rows_size(), f + ".sample_rows"); !s.ok()) return s;
    if (t.percentile() < 0 || t.percentile() > 100) {
      return absl::InvalidArgumentError(f + ".percentile: must be in (0, 100]");
    }
    if (t.budget_micros() <= 0) return absl::InvalidArgumentError(f + ".budget_micros: must be > 0");
    if (t.iterations() < 0 || t.iterations() > kMaxIterations) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".iterations: must be 0 .. ", kMaxIterations));
    }
    if (t.batch_size() < 0 || t.batch_size() > kMaxRows) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".batch_size: must be 0 .. ", kMaxRows));
    }
  }
  for (int i = 0; i < gate.bias_tests_size(); ++i) {
    const v1::BiasTest& t = gate.bias_tests(i);
    const std::string f = absl::StrCat(field, ".bias_tests[", i, "]");
    if (t.group_column().empty()) return absl::InvalidArgumentError(f + ".group_column: required");
    if (BiasMetrics().count(t.metric()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          f, ".metric: \"", t.metric(), "\" is not one of accuracy, auc, rmse, mae, positive_rate, "
          "true_positive_rate, false_positive_rate"));
    }
    if (!(t.max_gap() >= 0)) return absl::InvalidArgumentError(f + ".max_gap: must be >= 0");
    if (t.min_group_size() < 0) return absl::InvalidArgumentError(f + ".min_group_size: must be >= 0");
    if (t.has_data()) {
      if (absl::Status s = RowCount(t.data().rows_size(), f + ".data"); !s.ok()) return s;
      if (t.label_column().empty() && t.metric() != "positive_rate") {
        return absl::InvalidArgumentError(f + ".label_column: required for metric " + t.metric());
      }
    }
  }
  for (int i = 0; i < gate.regression_tests_size(); ++i) {
    const v1::RegressionSetTest& t = gate.regression_tests(i);
    const std::string f = absl::StrCat(field, ".regression_tests[", i, "]");
    if (absl::Status s = RowCount(t.inputs().rows_size(), f + ".inputs"); !s.ok()) return s;
    if (t.expected_size() != t.inputs().rows_size()) {
      return absl::InvalidArgumentError(absl::StrCat(f, ".expected: ", t.expected_size(),
                                                     " outputs for ", t.inputs().rows_size(),
                                                     " input rows"));
    }
    if (!(t.abs_tolerance() >= 0) || !(t.rel_tolerance() >= 0)) {
      return absl::InvalidArgumentError(f + ": tolerances must be >= 0");
    }
    if (t.max_failures() < 0) return absl::InvalidArgumentError(f + ".max_failures: must be >= 0");
  }
  return absl::OkStatus();
}

CheckResult RunLatencyTest(const v1::LatencyBudgetTest& test, const v1::ModelSignature& signature,
                           const PredictFn& predict) {
  CheckResult check;
  check.kind = CheckKind::kLatency;
  const double percentile = test.percentile() == 0 ? 99 : test.percentile();
  check.name = test.name().empty() ? absl::StrCat("latency p", Num(percentile), " <= ",
                                                  test.budget_micros(), "us")
                                   : test.name();
  check.comparison = Comparison::kLessOrEqual;
  check.limit = static_cast<double>(test.budget_micros());
  auto matrix = BuildFeatureMatrix(signature, test.sample_rows(), "sample_rows");
  if (!matrix.ok()) return Error(check, matrix.status());
  const std::size_t batch = std::min<std::size_t>(test.batch_size() == 0 ? 1 : test.batch_size(),
                                                  matrix->rows);
  const int iterations = test.iterations() == 0 ? 1000 : test.iterations();
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(iterations));
  std::size_t row = 0;
  for (int i = 0; i < kWarmUp + iterations; ++i) {
    if (row + batch > matrix->rows) row = 0;
    const auto start = std::chrono::steady_clock::now();
    auto prediction = predict(&matrix->values[row * matrix->cols], batch, matrix->cols);
    const auto end = std::chrono::steady_clock::now();
    if (!prediction.ok()) return Error(check, prediction.status());
    if (i >= kWarmUp) micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    row += batch;
  }
  std::sort(micros.begin(), micros.end());
  // Nearest rank.
  const std::size_t rank = static_cast<std::size_t>(
      std::ceil(percentile / 100 * static_cast<double>(micros.size())));
  check.measured = micros[std::max<std::size_t>(rank, 1) - 1];
  check.outcome = check.measured <= check.limit ? CheckOutcome::kPassed : CheckOutcome::kFailed;
  check.message = absl::StrCat("p", Num(percentile), " of ", iterations, " predictions of ", batch,
                               " row(s): ", Num(check.measured), " us (budget ",
                               test.budget_micros(), " us)");
  return check;
}

CheckResult RunBiasTest(const v1::BiasTest& test, const v1::ModelSignature& signature,
                        const PredictFn& predict) {
  CheckResult check;
  check.kind = CheckKind::kBias;
  check.metric = test.metric();
  check.name = test.name().empty()
                   ? absl::StrCat("bias ", test.metric(), " gap across ", test.group_column(),
                                  " <= ", Num(test.max_gap()))
                   : test.name();
  check.comparison = Comparison::kLessOrEqual;
  check.limit = test.max_gap();
  if (!test.has_data()) {
    return Error(check, absl::FailedPreconditionError(
                            "bias test without inline data: evaluation slices are not recorded "
                            "by this registry; give `data` with the group and label columns"));
  }
  auto matrix = BuildFeatureMatrix(signature, test.data(), "data");
  if (!matrix.ok()) return Error(check, matrix.status());
  auto groups = ColumnAsText(test.data(), test.group_column(), "data");
  if (!groups.ok()) return Error(check, groups.status());
  std::vector<double> labels(matrix->rows, 0);
  if (!test.label_column().empty()) {
    auto read = ColumnAsNumber(test.data(), test.label_column(), "data");
    if (!read.ok()) return Error(check, read.status());
    labels = *std::move(read);
  }
  auto prediction = predict(matrix->values.data(), matrix->rows, matrix->cols);
  if (!prediction.ok()) return Error(check, prediction.status());
  const double threshold = signature.output().decision_threshold() == 0
                               ? 0.5
                               : signature.output().decision_threshold();
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_group;
  for (std::size_t row = 0; row < matrix->rows; ++row) {
    // Multiclass: the predicted class is compared with the label (accuracy).
    const double score = prediction->outputs == 1 ? prediction->values[row]
                                                  : PredictedClass(*prediction, row, threshold);
    by_group[(*groups)[row]].first.push_back(score);
    by_group[(*groups)[row]].second.push_back(labels[row]);
  }
  const int64_t min_size = test.min_group_size() == 0 ? 30 : test.min_group_size();
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (const auto& [group, data] : by_group) {
    if (static_cast<int64_t>(data.first.size()) < min_size) continue;
    const double value = BiasMetric(test.metric(), data.first, data.second,
                                    prediction->outputs == 1 ? threshold : 0.5);
    if (std::isnan(value)) continue;
    check.groups.push_back({group, value, static_cast<int64_t>(data.first.size())});
    low = std::min(low, value);
    high = std::max(high, value);
  }
  if (check.groups.size() < 2) {
    return Error(check, absl::FailedPreconditionError(absl::StrCat(
                            "fewer than two groups of ", test.group_column(), " with at least ",
                            min_size, " rows and a defined ", test.metric())));
  }
  check.measured = high - low;
  check.outcome = check.measured <= check.limit ? CheckOutcome::kPassed : CheckOutcome::kFailed;
  check.message = absl::StrCat(test.metric(), " ranges from ", Num(low), " to ", Num(high),
                               " across ", check.groups.size(), " groups of ", test.group_column());
  return check;
}

CheckResult RunRegressionSetTest(const v1::RegressionSetTest& test,
                                 const v1::ModelSignature& signature, const PredictFn& predict) {
  CheckResult check;
  check.kind = CheckKind::kRegressionSet;
  check.name = test.name().empty() ? "regression set" : test.name();
  check.comparison = Comparison::kLessOrEqual;
  check.limit = test.max_failures();
  auto matrix = BuildFeatureMatrix(signature, test.inputs(), "inputs");
  if (!matrix.ok()) return Error(check, matrix.status());
  auto prediction = predict(matrix->values.data(), matrix->rows, matrix->cols);
  if (!prediction.ok()) return Error(check, prediction.status());
  int64_t failures = 0;
  for (std::size_t row = 0; row < matrix->rows; ++row) {
    const v1::ExpectedOutput& expected = test.expected(static_cast<int>(row));
    if (static_cast<std::size_t>(expected.values_size()) != prediction->outputs) {
      return Error(check, absl::InvalidArgumentError(absl::StrCat(
                              "expected[", row, "] has ", expected.values_size(),
                              " values; the model gives ", prediction->outputs)));
    }
    Mismatch mismatch{static_cast<int64_t>(row), {}, {}};
    bool bad = false;
    for (std::size_t k = 0; k < prediction->outputs; ++k) {
      const double want = expected.values(static_cast<int>(k));
      const double got = prediction->values[row * prediction->outputs + k];
      mismatch.expected.push_back(want);
      mismatch.actual.push_back(got);
      if (!(std::abs(got - want) <= test.abs_tolerance() + test.rel_tolerance() * std::abs(want))) {
        bad = true;
      }
    }
    if (!bad) continue;
    ++failures;
    if (check.mismatches.size() < kMaxMismatches) check.mismatches.push_back(std::move(mismatch));
  }
  check.measured = static_cast<double>(failures);
  check.outcome = failures <= test.max_failures() ? CheckOutcome::kPassed : CheckOutcome::kFailed;
  check.message = absl::StrCat(failures, " of ", matrix->rows, " rows outside the tolerance (at most ",
                               test.max_failures(), " allowed)");
  return check;
}

}  // namespace mlops::registry
