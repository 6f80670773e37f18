#include "services/monitoring/label_quality.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mlops::monitoring {
namespace {

constexpr double kProbabilityClip = 1e-15;
constexpr double kDecisionThreshold = 0.5;

// The text a label is compared with a predicted label by.
std::string LabelText(const LabelValue& v) {
  switch (v.kind) {
    case LabelValue::Kind::kString:
    case LabelValue::Kind::kInt64:
      return v.text;
    case LabelValue::Kind::kBool:
      return v.number != 0 ? "true" : "false";
    case LabelValue::Kind::kDouble:
      break;
  }
  return std::to_string(v.number);
}

}  // namespace

LabelTask TaskOf(const LabelledPrediction& p, bool* positive) {
  const LabelValue& l = p.label;
  switch (l.kind) {
    case LabelValue::Kind::kDouble:
      return LabelTask::kRegression;
    case LabelValue::Kind::kBool:
      *positive = l.number != 0;
      return LabelTask::kBinary;
    case LabelValue::Kind::kInt64:
      if (p.predicted_label.empty()) return LabelTask::kRegression;
      if (l.number == 0 || l.number == 1) {
        *positive = l.number == 1;
        return LabelTask::kBinary;
      }
      return LabelTask::kMulticlass;
    case LabelValue::Kind::kString:
      if (l.text == "1" || l.text == "true") {
        *positive = true;
        return LabelTask::kBinary;
      }
      if (l.text == "0" || l.text == "false") {
        *positive = false;
        return LabelTask::kBinary;
      }
      return LabelTask::kMulticlass;
  }
  return LabelTask::kRegression;
}

std::optional<double> AreaUnderRoc(const std::vector<double>& scores,
                                   const std::vector<bool>& positive) {
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' mid-ranks (ties share the average rank).
  double rank_sum = 0;
  int64_t pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += mid_rank;
        ++pos;
      }
    }
    i = j;
  }
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0) return std::nullopt;
  const double u = rank_sum - static_cast<double>(pos) * static_cast<double>(pos + 1) / 2;
  return u / (static_cast<double>(pos) * static_cast<double>(neg));
}

QualityMetrics ComputeQuality(const std::vector<LabelledPrediction>& pairs) {
  QualityMetrics m;
  int64_t classified = 0, correct = 0, regressed = 0;
  double sq = 0, abs_err = 0, log_loss = 0;
  std::vector<double> scores;
  std::vector<bool> positives;
  for (const LabelledPrediction& p : pairs) {
    if (!p.score.has_value() || !std::isfinite(*p.score)) continue;
    ++m.labelled;
    bool positive = false;
    switch (TaskOf(p, &positive)) {
      case LabelTask::kRegression: {
        const double e = *p.score - p.label.number;
        sq += e * e;
        abs_err += std::fabs(e);
        ++regressed;
        break;
      }
      case LabelTask::kBinary: {
        ++classified;
        if ((*p.score >= kDecisionThreshold) == positive) ++correct;
        const double q = std::clamp(*p.score, kProbabilityClip, 1 - kProbabilityClip);
        log_loss -= positive ? std::log(q) : std::log(1 - q);
        scores.push_back(*p.score);
        positives.push_back(positive);
        break;
      }
      case LabelTask::kMulticlass:
        ++classified;
        if (!p.predicted_label.empty() && LabelText(p.label) == p.predicted_label) ++correct;
        break;
    }
  }
  if (classified > 0) m.accuracy = static_cast<double>(correct) / static_cast<double>(classified);
  if (!scores.empty()) {
    m.log_loss = log_loss / static_cast<double>(scores.size());
    m.auc = AreaUnderRoc(scores, positives);
  }
  if (regressed > 0) {
    m.rmse = std::sqrt(sq / static_cast<double>(regressed));
    m.mae = abs_err / static_cast<double>(regressed);
  }
  return m;
}

}  // namespace mlops::monitoring
