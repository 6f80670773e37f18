#pragma once
// What `mlopsctl batch ...` prints about a batch scoring job, as pure
// functions: one progress line, the terminal summary, the status table.

#include <string>

#include "mlops/inference/v1/inference.pb.h"
#include "services/cli/table.h"

namespace mlops::cli {

// True for SUCCEEDED, FAILED and CANCELLED.
bool IsBatchJobTerminal(inference::v1::BatchJobState state);

// "queued", "running", "succeeded", ... for a state.
std::string BatchJobStateText(inference::v1::BatchJobState state);

// One progress line (no newline), e.g.
//   "running: 4096/10000 rows scored (41%), 31000 rows/s"
//   "queued"
std::string FormatBatchProgress(const inference::v1::BatchScoringJob& job);

// The line after a job ended (no newline), e.g.
//   "succeeded: 1000 rows scored in 1.2 s (830 rows/s); output transactions_scores@<version id>"
//   "failed: row 17, column \"amount\": NaN not allowed"
std::string FormatBatchOutcome(const inference::v1::BatchScoringJob& job);

// Field/value rows for `batch status`.
Table BatchJobTable(const inference::v1::BatchScoringJob& job);

// The output dataset the CLI picks when --output_dataset is absent:
// "<input dataset>_scores", or "" when that breaks the 63-char name rule.
std::string DefaultOutputDataset(const std::string& input_dataset);

}  // namespace mlops::cli
