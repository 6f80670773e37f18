#include "services/training/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace mlops::training {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = 1e-15;

double Clip(double p) { return std::min(1 - kEps, std::max(kEps, p)); }
double Ratio(double a, double b) { return b == 0 ? 0 : a / b; }

}  // namespace

double Auc(const std::vector<float>& labels, const std::vector<float>& scores) {
  const std::size_t n = std::min(labels.size(), scores.size());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U: sum of the (average, for ties) ranks of the positives.
  double positive_rank_sum = 0;
  std::size_t positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) {
      if (labels[order[k]] > 0.5f) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const std::size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
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
