#include "services/training/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

namespace mlops::training {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = 1e-15;

double Clip(double p) { return std::min(1 - kEps, std::max(kEps, p)); }
double Ratio(double a, double b) { return b == 0 ? 0 : a / b; }

// An order-preserving key of a float (a larger float has a larger key); -0
// and +0 share one key. NaN scores sort at an end (unspecified which).
uint32_t SortKey(float f) {
  if (f == 0) f = 0;
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : bits | 0x80000000u;
}

// Sorts `items` ascending by bits [1, 33) (the key; bit 0 is a payload), LSD
// radix with 11-bit digits, stable; a digit all items share is skipped.
// `scratch` is resized to match.
void RadixSortByKey(std::vector<uint64_t>* items, std::vector<uint64_t>* scratch) {
  constexpr int kDigitBits = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;
  constexpr int kPasses = 3;  // 33 bits of digits cover the 32-bit key
  const std::size_t n = items->size();
  scratch->resize(n);
  std::vector<std::size_t> counts(kBuckets * kPasses, 0);
  for (uint64_t item : *items) {
    for (int p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((item >> (1 + p * kDigitBits)) & (kBuckets - 1))];
  }
  for (int p = 0; p < kPasses; ++p) {
    std::size_t* count = counts.data() + p * kBuckets;
    if (n == 0 || std::count(count, count + kBuckets, n) == 1) continue;  // one bucket holds all
    std::size_t offset = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) offset += std::exchange(count[b], offset);
    for (uint64_t item : *items) (*scratch)[count[(item >> (1 + p * kDigitBits)) & (kBuckets - 1)]++] = item;
    items->swap(*scratch);
  }
}

// XGBoost's reduction of an element-wise metric: float terms summed in
// double in row order (its one-thread order), divided by the row count (the
// sum of unit weights; the sum itself when there are no rows).
template <typename Term>
double MeanOfFloatTerms(std::size_t n, Term term) {
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<float>(term(i));
  return n == 0 ? sum : sum / static_cast<double>(n);
}

// XGBoost 1.7's "logloss" term (elementwise_metric.cu), in float.
float XgbLogLossTerm(float y, float py) {
  const auto xlogy = [](float x, float v) {
    const float eps = static_cast<float>(1e-16);
    return (x - 0.0f == 0.0f) ? 0.0f : (x * std::log(std::max(v, eps)));
  };
  const float pneg = 1.0f - py;
  return xlogy(-y, py) + xlogy(-(1.0f - y), pneg);
}

// XGBoost 1.7's "mlogloss" term of the true class's probability.
float XgbMultiLogLossTerm(float p) {
  const float eps = 1e-16f;
  return p > eps ? -std::log(p) : -std::log(eps);
}

}  // namespace

double Auc(const std::vector<float>& labels, const std::vector<float>& scores) {
  const std::size_t n = std::min(labels.size(), scores.size());
  // Items (key << 1 | positive), sorted ascending by key: ties are adjacent.
  std::vector<uint64_t> items(n), scratch(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i] = uint64_t{SortKey(scores[i])} << 1 | (labels[i] > 0.5f ? 1u : 0u);
  }
  RadixSortByKey(&items, &scratch);
  // Twice the Mann-Whitney U (pairs positive above negative, ties half), in
  // integers: exact, so U / (P * N) is the value XGBoost's trapezoid sum gives.
  uint64_t twice_u = 0, negatives_below = 0, positives = 0;
  for (std::size_t i = 0; i < n;) {
    const uint64_t key = items[i] >> 1;
    uint64_t pos = 0, neg = 0;
    for (; i < n && items[i] >> 1 == key; ++i) ++(items[i] & 1 ? pos : neg);
    twice_u += pos * (2 * negatives_below + neg);
    negatives_below += neg;
    positives += pos;
  }
  if (positives == 0 || negatives_below == 0) return kNaN;
  return static_cast<double>(twice_u) * 0.5 /
         (static_cast<double>(negatives_below) * static_cast<double>(positives));
}

double LogLoss(const std::vector<float>& labels, const std::vector<float>& scores) {
  const std::size_t n = std::min(labels.size(), scores.size());
  if (n == 0) return kNaN;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = Clip(scores[i]);
    sum += labels[i] > 0.5f ? -std::log(p) : -std::log(1 - p);
  }
  return sum / static_cast<double>(n);
}

BinaryCounts CountBinary(const std::vector<float>& labels, const std::vector<float>& scores,
                         double threshold) {
  BinaryCounts c;
  const std::size_t n = std::min(labels.size(), scores.size());
  for (std::size_t i = 0; i < n; ++i) {
    const bool actual = labels[i] > 0.5f;
    const bool predicted = scores[i] >= threshold;
    if (actual && predicted) ++c.tp;
    if (!actual && predicted) ++c.fp;
    if (!actual && !predicted) ++c.tn;
    if (actual && !predicted) ++c.fn;
  }
  return c;
}

double Accuracy(const BinaryCounts& c) {
  return Ratio(static_cast<double>(c.tp + c.tn), static_cast<double>(c.tp + c.tn + c.fp + c.fn));
}
double Precision(const BinaryCounts& c) {
  return Ratio(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fp));
}
double Recall(const BinaryCounts& c) {
  return Ratio(static_cast<double>(c.tp), static_cast<double>(c.tp + c.fn));
}
double F1(const BinaryCounts& c) {
  const double p = Precision(c);
  const double r = Recall(c);
  return Ratio(2 * p * r, p + r);
}

double Rmse(const std::vector<float>& labels, const std::vector<float>& predictions) {
  const std::size_t n = std::min(labels.size(), predictions.size());
  if (n == 0) return kNaN;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(labels[i]) - predictions[i];
    sum += d * d;
  }
  return std::sqrt(sum / static_cast<double>(n));
}

double Mae(const std::vector<float>& labels, const std::vector<float>& predictions) {
  const std::size_t n = std::min(labels.size(), predictions.size());
  if (n == 0) return kNaN;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::fabs(static_cast<double>(labels[i]) - predictions[i]);
  return sum / static_cast<double>(n);
}

double R2(const std::vector<float>& labels, const std::vector<float>& predictions) {
  const std::size_t n = std::min(labels.size(), predictions.size());
  if (n == 0) return kNaN;
  double mean = 0;
  for (std::size_t i = 0; i < n; ++i) mean += labels[i];
  mean /= static_cast<double>(n);
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = static_cast<double>(labels[i]) - predictions[i];
    const double t = static_cast<double>(labels[i]) - mean;
    ss_res += r * r;
    ss_tot += t * t;
  }
  if (ss_tot == 0) return kNaN;
  return 1 - ss_res / ss_tot;
}

double MultiLogLoss(const std::vector<float>& labels, const std::vector<float>& probs,
                    int num_class) {
  const std::size_t k = static_cast<std::size_t>(num_class);
  const std::size_t n = k == 0 ? 0 : std::min(labels.size(), probs.size() / k);
  if (n == 0) return kNaN;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t label = static_cast<std::size_t>(labels[i]);
    sum -= std::log(Clip(label < k ? probs[i * k + label] : 0.0));
  }
  return sum / static_cast<double>(n);
}

std::map<std::string, double> MultiClassMetrics(const std::vector<float>& labels,
                                                const std::vector<float>& probs, int num_class) {
  const std::size_t k = static_cast<std::size_t>(num_class);
  const std::size_t n = k == 0 ? 0 : std::min(labels.size(), probs.size() / k);
  std::vector<BinaryCounts> per_class(k);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto first = probs.begin() + static_cast<std::ptrdiff_t>(i * k);
    const std::size_t predicted =
        static_cast<std::size_t>(std::max_element(first, first + static_cast<std::ptrdiff_t>(k)) - first);
    const std::size_t actual = static_cast<std::size_t>(labels[i]);
    correct += predicted == actual;
    for (std::size_t c = 0; c < k; ++c) {
      const bool a = actual == c, p = predicted == c;
      if (a && p) ++per_class[c].tp;
      if (!a && p) ++per_class[c].fp;
      if (a && !p) ++per_class[c].fn;
      if (!a && !p) ++per_class[c].tn;
    }
  }
  double precision = 0, recall = 0, f1 = 0;
  for (const BinaryCounts& c : per_class) {
    precision += Precision(c);
    recall += Recall(c);
    f1 += F1(c);
  }
  const double classes = k == 0 ? 1 : static_cast<double>(k);
  return {{"accuracy", Ratio(static_cast<double>(correct), static_cast<double>(n))},
          {"precision", precision / classes},
          {"recall", recall / classes},
          {"f1", f1 / classes}};
}

bool HasCurveMetric(const std::string& metric, Objective objective) {
  switch (objective) {
    case Objective::kBinaryLogistic: return metric == "auc" || metric == "logloss" || metric == "rmse";
    case Objective::kRegSquaredError: return metric == "rmse";
    case Objective::kMultiSoftprob: return metric == "mlogloss";
    case Objective::kUnspecified: break;
  }
  return false;
}

std::optional<double> CurveMetric(const std::string& metric, Objective objective, int num_class,
                                  const std::vector<float>& labels,
                                  const std::vector<float>& predictions) {
  if (!HasCurveMetric(metric, objective)) return std::nullopt;
  if (metric == "auc") return Auc(labels, predictions);
  if (metric == "mlogloss") {
    const std::size_t k = static_cast<std::size_t>(std::max(num_class, 0));
    const std::size_t n = k == 0 ? 0 : std::min(labels.size(), predictions.size() / k);
    for (std::size_t i = 0; i < n; ++i) {
      if (!(labels[i] >= 0 && static_cast<std::size_t>(labels[i]) < k)) return kNaN;
    }
    return MeanOfFloatTerms(n, [&](std::size_t i) {
      return XgbMultiLogLossTerm(predictions[i * k + static_cast<std::size_t>(labels[i])]);
    });
  }
  const std::size_t n = std::min(labels.size(), predictions.size());
  if (metric == "logloss") {
    return MeanOfFloatTerms(n, [&](std::size_t i) { return XgbLogLossTerm(labels[i], predictions[i]); });
  }
  const double mean_square = MeanOfFloatTerms(n, [&](std::size_t i) {
    const float diff = labels[i] - predictions[i];
    return diff * diff;
  });
  return std::sqrt(mean_square);
}

std::map<std::string, double> EvaluatePredictions(Objective objective, int num_class,
                                                  const std::vector<float>& labels,
                                                  const std::vector<float>& predictions,
                                                  const std::string& prefix) {
  std::map<std::string, double> all;
  if (labels.empty()) return all;
  switch (objective) {
    case Objective::kBinaryLogistic: {
      const BinaryCounts c = CountBinary(labels, predictions);
      all = {{"auc", Auc(labels, predictions)}, {"logloss", LogLoss(labels, predictions)},
             {"accuracy", Accuracy(c)},         {"precision", Precision(c)},
             {"recall", Recall(c)},             {"f1", F1(c)}};
      break;
    }
    case Objective::kRegSquaredError:
      all = {{"rmse", Rmse(labels, predictions)},
             {"mae", Mae(labels, predictions)},
             {"r2", R2(labels, predictions)}};
      break;
    case Objective::kMultiSoftprob:
      all = MultiClassMetrics(labels, predictions, num_class);
      all["mlogloss"] = MultiLogLoss(labels, predictions, num_class);
      break;
    case Objective::kUnspecified:
      break;
  }
  std::map<std::string, double> out;
  for (const auto& [key, value] : all) {
    if (std::isfinite(value)) out[prefix + key] = value;
  }
  return out;
}

}  // namespace mlops::training
