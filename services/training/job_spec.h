#pragma once
// Training job specs (the v1 protos) turned into the domain's terms: the
// shape checks SubmitTrainingJob makes before asking any peer
// (InvalidArgument naming the field), feature ref parsing, the trials a spec
// asks for, the trainer config, the split, the objective and its direction,
// and a fingerprint for idempotent submits. Pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/hyper_search.h"
#include "services/training/training_set.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {

// A feature ref: `view:feature`, `view@3:feature` or `view:*` (version 0 =
// unpinned, feature "*" = every feature of the view).
struct FeatureRef {
  std::string view;
  int64_t version = 0;
  std::string feature;
};
absl::StatusOr<FeatureRef> ParseFeatureRef(const std::string& field, const std::string& ref);

// A command trainer's longest timeout: 7 days.
inline constexpr int64_t kMaxCommandTimeoutMicros = int64_t{7} * 24 * 3600 * 1000 * 1000;

// Everything that can be checked without the peers (for command trainers:
// argv, env names, the timeout; the objective is required for them too).
absl::Status ValidateJobSpec(const v1::TrainingJobSpec& spec);

// The trials' complete hyperparameters (fixed + sampled), in trial order;
// one trial without a search.
absl::StatusOr<std::vector<TrialParams>> PlanTrials(const v1::TrainingJobSpec& spec);

// The trainer config of one trial (num_boost_round taken out of params).
absl::StatusOr<TrainerConfig> TrialConfig(const v1::TrainingJobSpec& spec, const TrialParams& params);

SplitOptions ToSplitOptions(const v1::TrainingJobSpec& spec);

// The objective metric ("validation_auc" ... by default) and its direction.
std::string ObjectiveMetric(const v1::TrainingJobSpec& spec);
Direction ObjectiveDirection(const v1::TrainingJobSpec& spec);

// Lowercase hex sha256 of the spec's deterministic serialization.
std::string SpecFingerprint(const v1::TrainingJobSpec& spec);

// "job-" + 16 lowercase hex.
absl::Status ValidateJobId(const std::string& id);

}  // namespace mlops::training

namespace mlops::training {

// What started a job, in a few words: "manual", "trigger nightly",
// "trigger drift, alert 17", "trigger fresh, dataset version 3f2a…".
std::string DescribeCause(const v1::TriggerCause& cause);

}  // namespace mlops::training
