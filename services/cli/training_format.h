#pragma once
// What `mlopsctl training ...` reads and prints, as pure functions: the job
// spec file, one line per watched job event, the run comparison table.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/training/v1/training.pb.h"
#include "services/cli/table.h"

namespace mlops::cli {

// A job spec file in protobuf JSON: a TrainingJobSpec ({"experiment": ...,
// "data": {...}, "trainer": {...}, "hyperparameters": {...}, "search":
// {...}}) or a SubmitTrainingJobRequest ({"spec": {...},
// "idempotencyKey": ...}). The error names `source`.
absl::StatusOr<training::v1::SubmitTrainingJobRequest> ParseJobSpecFile(const std::string& text,
                                                                        const std::string& source);

// One line for a WatchJob event (no trailing newline), e.g.
//   "12:00:01 job job-1a running: 1/4 trials succeeded, best 0.91"
//   "12:00:02 trial 2 run-9f succeeded objective=0.87 (eta=0.1 max_depth=4)"
//   "12:00:02 trial run-9f step 10: validation_auc=0.85"
//   "12:00:03 [stderr run-9f] text"
std::string FormatJobEvent(const training::v1::JobEvent& event);

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsTerminal(training::v1::JobState state);

// A table with one column per run: status, then every param (rows marked
// "*" where the runs differ), then every metric's latest value.
Table CompareRunsTable(const std::vector<training::v1::Run>& runs);

}  // namespace mlops::cli
