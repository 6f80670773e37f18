#include "services/training/hyper_search.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/training/training_set.h"

namespace mlops::training {
namespace {

std::string Field(std::size_t i) { return absl::StrCat("search.parameters[", i, "]"); }

int64_t IntStep(const ParamRange& r) { return r.int_step == 0 ? 1 : r.int_step; }

// The values of one range on the grid.
std::vector<std::string> GridValues(const ParamRange& r) {
  std::vector<std::string> out;
  switch (r.kind) {
    case ParamRange::Kind::kInt:
      for (int64_t v = r.int_min; v <= r.int_max && out.size() <= kMaxTrials; v += IntStep(r)) {
        out.push_back(absl::StrCat(v));
      }
      break;
    case ParamRange::Kind::kFloat: {
      const int points = r.grid_points == 0 ? 5 : r.grid_points;
      const double lo = r.log_scale ? std::log(r.float_min) : r.float_min;
      const double hi = r.log_scale ? std::log(r.float_max) : r.float_max;
      for (int i = 0; i < points; ++i) {
        const double x = lo + (hi - lo) * i / (points - 1);
        // Round away floating-point noise (exp(log(0.01) + ...) = 0.10000000000000002).
        const std::string rounded = absl::StrFormat("%.12g", r.log_scale ? std::exp(x) : x);
        out.push_back(FormatDouble(std::strtod(rounded.c_str(), nullptr)));
      }
      break;
    }
    case ParamRange::Kind::kCategorical:
      out = r.values;
      break;
  }
  return out;
}

double Unit(uint64_t* state) {
  return static_cast<double>(SplitMix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

std::string Sample(const ParamRange& r, uint64_t* state) {
  switch (r.kind) {
    case ParamRange::Kind::kInt: {
      const uint64_t steps = static_cast<uint64_t>((r.int_max - r.int_min) / IntStep(r)) + 1;
      return absl::StrCat(r.int_min + static_cast<int64_t>(SplitMix64(state) % steps) * IntStep(r));
    }
    case ParamRange::Kind::kFloat: {
      const double u = Unit(state);
      if (r.log_scale) {
        const double lo = std::log(r.float_min), hi = std::log(r.float_max);
        return FormatDouble(std::exp(lo + (hi - lo) * u));
      }
      return FormatDouble(r.float_min + (r.float_max - r.float_min) * u);
    }
    case ParamRange::Kind::kCategorical:
      return r.values[SplitMix64(state) % r.values.size()];
  }
  return "";
}

}  // namespace

std::string FormatDouble(double value) {
  for (int precision = 6; precision < 17; ++precision) {
    std::string s = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(s.c_str(), nullptr) == value) return s;
  }
  return absl::StrFormat("%.17g", value);
}

absl::Status ValidateRanges(const std::vector<ParamRange>& ranges) {
  if (ranges.empty() || ranges.size() > kMaxSearchParameters) {
    return absl::InvalidArgumentError("search.parameters: 1 to 50 required");
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const ParamRange& r = ranges[i];
    if (r.name.empty()) return absl::InvalidArgumentError(absl::StrCat(Field(i), ".name: required"));
    if (!names.insert(r.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(Field(i), ".name \"", r.name, "\": duplicate"));
    }
    switch (r.kind) {
      case ParamRange::Kind::kInt:
        if (r.int_max < r.int_min || r.int_step < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Field(i), " \"", r.name, "\": int_range needs max >= min and step >= 0"));
        }
        break;
      case ParamRange::Kind::kFloat:
        if (!std::isfinite(r.float_min) || !std::isfinite(r.float_max) || !(r.float_min < r.float_max)) {
          return absl::InvalidArgumentError(
              absl::StrCat(Field(i), " \"", r.name, "\": float_range needs finite min < max"));
        }
        if (r.log_scale && r.float_min <= 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Field(i), " \"", r.name, "\": SCALE_LOG needs min > 0"));
        }
        if (r.grid_points == 1 || r.grid_points < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Field(i), " \"", r.name, "\": grid_points must be 0 or >= 2"));
        }
        break;
      case ParamRange::Kind::kCategorical: {
        std::set<std::string> distinct(r.values.begin(), r.values.end());
        if (r.values.empty() || r.values.size() > 1000 || distinct.size() != r.values.size()) {
          return absl::InvalidArgumentError(absl::StrCat(
              Field(i), " \"", r.name, "\": categorical needs 1 to 1000 distinct values"));
        }
        break;
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TrialParams>> GridTrials(const std::vector<ParamRange>& ranges,
                                                    int max_trials) {
  if (absl::Status s = ValidateRanges(ranges); !s.ok()) return s;
  if (max_trials < 0 || max_trials > kMaxTrials) {
    return absl::InvalidArgumentError("search.max_trials: must be in [0, 10000]");
  }
  std::vector<std::vector<std::string>> axes;
  double total = 1;
  for (const ParamRange& r : ranges) {
    axes.push_back(GridValues(r));
    total *= static_cast<double>(axes.back().size());
  }
  if (max_trials == 0 && total > kMaxTrials) {
    return absl::InvalidArgumentError(
        absl::StrCat("search: the grid has ", FormatDouble(total), " points, at most 10000 allowed"));
  }
  const std::size_t count = static_cast<std::size_t>(
      max_trials == 0 ? total : std::min<double>(total, max_trials));
  std::vector<TrialParams> trials;
  std::vector<std::size_t> digit(axes.size(), 0);
  for (std::size_t t = 0; t < count; ++t) {
    TrialParams params;
    for (std::size_t a = 0; a < axes.size(); ++a) params[ranges[a].name] = axes[a][digit[a]];
    trials.push_back(std::move(params));
    for (std::size_t a = axes.size(); a-- > 0;) {  // the last varies fastest
      if (++digit[a] < axes[a].size()) break;
      digit[a] = 0;
    }
  }
  return trials;
}

absl::StatusOr<std::vector<TrialParams>> RandomTrials(const std::vector<ParamRange>& ranges,
                                                      int count, uint64_t seed) {
  if (absl::Status s = ValidateRanges(ranges); !s.ok()) return s;
  if (count < 1 || count > kMaxTrials) {
    return absl::InvalidArgumentError("search.max_trials: RANDOM needs 1 to 10000");
  }
  uint64_t state = seed;
  std::vector<TrialParams> trials;
  for (int t = 0; t < count; ++t) {
    TrialParams params;
    for (const ParamRange& r : ranges) params[r.name] = Sample(r, &state);
    trials.push_back(std::move(params));
  }
  return trials;
}

Direction NaturalDirection(const std::string& metric) {
  for (const char* suffix : {"auc", "accuracy", "precision", "recall", "f1", "r2"}) {
    if (absl::EndsWith(metric, suffix)) return Direction::kMaximize;
  }
  return Direction::kMinimize;
}

bool IsBetter(Direction direction, double candidate, double incumbent) {
  return direction == Direction::kMaximize ? candidate > incumbent : candidate < incumbent;
}

MedianStopper::MedianStopper(Direction direction, int min_completed_trials, int64_t min_step)
    : direction_(direction),
      min_completed_(min_completed_trials <= 0 ? 3 : min_completed_trials),
      min_step_(min_step <= 0 ? 10 : min_step) {}

void MedianStopper::AddCompleted(std::vector<double> curve) {
  if (curve.empty()) return;
  for (std::size_t i = 1; i < curve.size(); ++i) curve[i] += curve[i - 1];
  absl::MutexLock lock(&mu_);
  prefix_sums_.push_back(std::move(curve));
}

bool MedianStopper::ShouldStop(int64_t step, double best_so_far) const {
  if (step < min_step_) return false;
  std::vector<double> averages;
  {
    absl::MutexLock lock(&mu_);
    if (static_cast<int>(prefix_sums_.size()) < min_completed_) return false;
    for (const std::vector<double>& sums : prefix_sums_) {
      const std::size_t last = std::min<std::size_t>(static_cast<std::size_t>(step), sums.size() - 1);
      averages.push_back(sums[last] / static_cast<double>(last + 1));
    }
  }
  std::sort(averages.begin(), averages.end());
  const std::size_t n = averages.size();
  const double median = n % 2 ? averages[n / 2] : (averages[n / 2 - 1] + averages[n / 2]) / 2;
  return IsBetter(direction_, median, best_so_far);
}

ExecutorSummary RunTrials(int count, int parallelism, std::optional<int> max_failed,
                          const std::function<bool()>& cancelled,
                          const std::function<TrialResult(int index)>& run_trial) {
  absl::Mutex mu;
  int next = 0;
  ExecutorSummary summary;
  auto worker = [&] {
    while (true) {
      int index = 0;
      {
        absl::MutexLock lock(&mu);
        if (next >= count || summary.stopped_for_failures) return;
        if (cancelled && cancelled()) {
          summary.cancelled = true;
          return;
        }
        index = next++;
        ++summary.started;
      }
      const TrialResult result = run_trial(index);
      absl::MutexLock lock(&mu);
      if (result == TrialResult::kFailed) {
        ++summary.failed;
        if (max_failed && summary.failed > *max_failed) summary.stopped_for_failures = true;
      }
    }
  };
  const int threads = std::max(1, std::min(parallelism, count));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return summary;
}

}  // namespace mlops::training
