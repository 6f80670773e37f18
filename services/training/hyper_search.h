#pragma once
// Hyperparameter search, the domain half: parameter ranges (int, float
// linear/log, categorical), the trials of a grid or a seeded random search,
// the objective's direction, the median stopping rule across trials, and a
// bounded executor that runs trials in parallel, stops starting them after
// too many failures or a cancel. No gRPC, no XGBoost.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace mlops::training {

inline constexpr int kMaxSearchParameters = 50;
inline constexpr int kMaxTrials = 10000;

struct ParamRange {
  enum class Kind { kInt, kFloat, kCategorical };
  std::string name;
  Kind kind = Kind::kInt;
  int64_t int_min = 0, int_max = 0, int_step = 1;  // kInt; step 0 = 1
  double float_min = 0, float_max = 0;             // kFloat
  bool log_scale = false;                          // kFloat
  int grid_points = 0;                             // kFloat grid; 0 = 5
  std::vector<std::string> values;                 // kCategorical
};

using TrialParams = std::map<std::string, std::string>;

// InvalidArgument naming `search.parameters[i]` for a bad range or a
// duplicate name; 1 to 50 parameters.
absl::Status ValidateRanges(const std::vector<ParamRange>& ranges);

// The grid, the last parameter varying fastest; at most `max_trials` points
// (0 = the whole grid, which must have at most 10000).
absl::StatusOr<std::vector<TrialParams>> GridTrials(const std::vector<ParamRange>& ranges,
                                                    int max_trials);
// `count` independent samples (1 to 10000), deterministic for a seed.
absl::StatusOr<std::vector<TrialParams>> RandomTrials(const std::vector<ParamRange>& ranges,
                                                      int count, uint64_t seed);

// Floats as text: the shortest form that reads back to the same double.
std::string FormatDouble(double value);

enum class Direction { kMaximize, kMinimize };
// MAXIMIZE for auc, accuracy, precision, recall, f1, r2 (any prefix, e.g.
// "validation_auc"), MINIMIZE otherwise.
Direction NaturalDirection(const std::string& metric);
bool IsBetter(Direction direction, double candidate, double incumbent);

// The median stopping rule: at step s a running trial stops if its best
// objective value so far is worse than the median, over the completed
// trials, of their running average of the objective up to step s.
// Thread-safe.
class MedianStopper {
 public:
  MedianStopper(Direction direction, int min_completed_trials, int64_t min_step);
  // A finished trial's objective curve, one value per step from 0.
  void AddCompleted(std::vector<double> curve);
  bool ShouldStop(int64_t step, double best_so_far) const;

 private:
  const Direction direction_;
  const int min_completed_;
  const int64_t min_step_;
  mutable absl::Mutex mu_;
  std::vector<std::vector<double>> prefix_sums_ ABSL_GUARDED_BY(mu_);
};

enum class TrialResult { kSucceeded, kFailed, kCancelled, kStoppedEarly };

struct ExecutorSummary {
  int started = 0;
  int failed = 0;
  bool stopped_for_failures = false;  // more than max_failed trials failed
  bool cancelled = false;
};

// Runs run_trial(0..count-1) on at most `parallelism` threads (>= 1), in
// index order. Stops starting trials once `cancelled()` is true or more than
// *max_failed have failed. Returns when every started trial has returned.
ExecutorSummary RunTrials(int count, int parallelism, std::optional<int> max_failed,
                          const std::function<bool()>& cancelled,
                          const std::function<TrialResult(int index)>& run_trial);

}  // namespace mlops::training
