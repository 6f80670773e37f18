#include "services/cli/batch_format.h"

#include "absl/strings/str_cat.h"
#include "services/cli/output.h"

namespace mlops::cli {

namespace inv1 = ::mlops::inference::v1;

bool IsBatchJobTerminal(inv1::BatchJobState state) {
  return state == inv1::BATCH_JOB_STATE_SUCCEEDED || state == inv1::BATCH_JOB_STATE_FAILED ||
         state == inv1::BATCH_JOB_STATE_CANCELLED;
}

std::string BatchJobStateText(inv1::BatchJobState state) {
  return EnumText(inv1::BatchJobState_Name(state), "BATCH_JOB_STATE_");
}

namespace {

std::string RowsText(const inv1::BatchScoringJob& job) {
  std::string text = absl::StrCat(job.rows_scored());
  if (job.rows_total() > 0) {
    absl::StrAppend(&text, "/", job.rows_total(), " rows scored (",
                    job.rows_scored() * 100 / job.rows_total(), "%)");
  } else {
    absl::StrAppend(&text, " rows scored");
  }
  return text;
}

std::string OutputText(const inv1::BatchScoringJob& job) {
  return job.output_dataset_version().empty()
             ? job.output_dataset()
             : absl::StrCat(job.output_dataset(), "@", job.output_dataset_version());
}

}  // namespace

std::string FormatBatchProgress(const inv1::BatchScoringJob& job) {
  std::string line = BatchJobStateText(job.state());
  if (job.state() == inv1::BATCH_JOB_STATE_QUEUED) return line;
  absl::StrAppend(&line, ": ", RowsText(job), ", ", FormatNumber(job.rows_per_second()), " rows/s");
  return line;
}

std::string FormatBatchOutcome(const inv1::BatchScoringJob& job) {
  std::string line = BatchJobStateText(job.state());
  if (job.state() != inv1::BATCH_JOB_STATE_SUCCEEDED) {
    absl::StrAppend(&line, ": ", OrDash(job.error()));
    return line;
  }
  const int64_t micros = job.finished_at_micros() - job.started_at_micros();
  absl::StrAppend(&line, ": ", job.rows_scored(), " rows scored");
  if (job.started_at_micros() > 0 && micros >= 0) {
    absl::StrAppend(&line, " in ", FormatNumber(micros / 1e6), " s");
  }
  absl::StrAppend(&line, " (", FormatNumber(job.rows_per_second()), " rows/s); output ", OutputText(job));
  return line;
}

Table BatchJobTable(const inv1::BatchScoringJob& job) {
  Table table({"FIELD", "VALUE"});
  table.AddRow({"job", job.job_id()});
  table.AddRow({"state", BatchJobStateText(job.state())});
  table.AddRow({"model", absl::StrCat(job.model(), "@", job.version())});
  table.AddRow({"input", job.input_dataset_version()});
  table.AddRow({"features",
                job.feature_source() == inv1::BATCH_FEATURE_SOURCE_POINT_IN_TIME ? "point_in_time"
                                                                                  : "input_columns"});
  table.AddRow({"output", OutputText(job)});
  table.AddRow({"rows", RowsText(job)});
  table.AddRow({"rows/s", FormatNumber(job.rows_per_second())});
  table.AddRow({"submitted", absl::StrCat(FormatMicros(job.submitted_at_micros()), " by ",
                                          OrDash(job.submitted_by()))});
  table.AddRow({"started", FormatMicros(job.started_at_micros())});
  table.AddRow({"finished", FormatMicros(job.finished_at_micros())});
  table.AddRow({"error", OrDash(job.error())});
  return table;
}

std::string DefaultOutputDataset(const std::string& input_dataset) {
  std::string name = absl::StrCat(input_dataset, "_scores");
  return name.size() <= 63 ? name : "";
}

}  // namespace mlops::cli
