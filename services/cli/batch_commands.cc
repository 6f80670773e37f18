// `mlopsctl batch score|status`: batch scoring jobs on the gateway
// (SubmitBatchScoring, GetBatchScoringJob), optionally followed until they
// end by polling, within a bounded timeout.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status/grpc_status.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/batch_format.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"

namespace mlops::cli {
namespace {

namespace inv1 = ::mlops::inference::v1;
namespace iv1 = ::mlops::ingestion::v1;

// The gateway saves a job's progress every 0.5 s.
constexpr absl::Duration kPollInterval = absl::Milliseconds(500);

std::unique_ptr<inv1::InferenceService::Stub> Stub(CliContext& ctx) {
  return inv1::InferenceService::NewStub(ctx.Channel("gateway"));
}

// Polls the job until it ends or `timeout` passes, printing a line whenever
// its state or progress changes (JSON: the final job). 0 if it succeeded, 1
// if it failed or was cancelled; UNAVAILABLE answers (a restarting gateway)
// are retried until the deadline.
int PollUntilDone(CliContext& ctx, const std::string& job_id, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  inv1::GetBatchScoringJobRequest request;
  request.set_job_id(job_id);
  inv1::BatchScoringJob job;
  std::string last_line;
  grpc::Status status;
  while (true) {  // bounded by the deadline
    auto context = ctx.NewContext();
    status = Stub(ctx)->GetBatchScoringJob(context.get(), request, &job);
    if (status.ok()) {
      if (IsBatchJobTerminal(job.state())) break;
      const std::string line = FormatBatchProgress(job);
      if (!ctx.json() && line != last_line) std::cout << FormatMicros(absl::ToUnixMicros(absl::Now())).substr(11)
                                                      << " " << line << std::endl;
      last_line = line;
    } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
               status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return ReportError(FromGrpcStatus(status), "batch status " + job_id);
    }
    if (absl::Now() + kPollInterval > deadline) {
      if (!status.ok()) return ReportError(FromGrpcStatus(status), "batch status " + job_id);
      return ReportError(absl::DeadlineExceededError(absl::StrCat(
                             "the job has not ended after ", absl::FormatDuration(timeout), " (",
                             last_line, "); check it again with `mlopsctl batch status ", job_id, " --wait`")),
                         "batch wait");
    }
    absl::SleepFor(kPollInterval);
  }
  if (ctx.json()) {
    PrintJson(job);
  } else {
    std::cout << "job " << job_id << " " << FormatBatchOutcome(job) << "\n";
  }
  if (job.state() == inv1::BATCH_JOB_STATE_SUCCEEDED) return kExitOk;
  std::cerr << "error: batch job " << job_id << " " << BatchJobStateText(job.state()) << ": "
            << OrDash(job.error()) << "\n";
  return kExitFailed;
}

// The version to score: --dataset_version, else the dataset's head, checked
// against the ingestion service (a version of another dataset is refused).
absl::StatusOr<iv1::DatasetVersion> ResolveInput(CliContext& ctx, const std::string& dataset,
                                                 const std::string& version_id) {
  iv1::GetDatasetVersionRequest request;
  request.mutable_version()->set_dataset(dataset);
  request.mutable_version()->set_version_id(version_id);
  iv1::DatasetVersion version;
  auto context = ctx.NewContext();
  const grpc::Status status = iv1::IngestionService::NewStub(ctx.Channel("ingestion"))
                                  ->GetDatasetVersion(context.get(), request, &version);
  if (!status.ok()) return FromGrpcStatus(status);
  if (version.dataset() != dataset) {
    return absl::InvalidArgumentError(absl::StrCat("--dataset_version ", version_id, " belongs to dataset \"",
                                                   version.dataset(), "\", not \"", dataset, "\""));
  }
  return version;
}

// The request from the command line; errors name the flag.
absl::StatusOr<inv1::SubmitBatchScoringRequest> ScoreRequest(const CommandArgs& args) {
  inv1::SubmitBatchScoringRequest request;
  if (!args.positional.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", args.positional[0],
                                                   "\"; use --model NAME --dataset NAME"));
  }
  const std::string model = OptionOr(args, "model", "");
  if (model.empty()) return absl::InvalidArgumentError("--model NAME is required");
  request.set_model(model);
  if (args.options.count("version")) {
    int64_t version = 0;
    if (!absl::SimpleAtoi(args.options.at("version"), &version) || version < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--version: expected a model version number (0 = production), got \"",
                                                     args.options.at("version"), "\""));
    }
    request.set_version(version);
  }
  const std::string dataset = OptionOr(args, "dataset", "");
  if (dataset.empty()) return absl::InvalidArgumentError("--dataset NAME is required");
  const std::string output = OptionOr(args, "output_dataset", DefaultOutputDataset(dataset));
  if (output.empty()) return absl::InvalidArgumentError("--output_dataset NAME is required (the default name is too long)");
  request.set_output_dataset(output);
  request.set_feature_source(args.options.count("point_in_time") ? inv1::BATCH_FEATURE_SOURCE_POINT_IN_TIME
                                                                 : inv1::BATCH_FEATURE_SOURCE_INPUT_COLUMNS);
  if (args.options.count("passthrough")) {
    for (absl::string_view column : absl::StrSplit(args.options.at("passthrough"), ',', absl::SkipEmpty())) {
      request.add_passthrough_columns(std::string(column));
    }
  }
  request.set_output_prefix(OptionOr(args, "prefix", ""));
  request.set_idempotency_key(OptionOr(args, "key", ""));
  return request;
}

int Score(CliContext& ctx, const std::vector<std::string>& raw_args) {
  const std::vector<std::string> valued = {"model",       "version", "dataset", "dataset_version", "output_dataset",
                                           "passthrough", "prefix",  "key",     "timeout"};
  std::vector<std::string> allowed = valued;
  allowed.push_back("point_in_time");
  allowed.push_back("wait");
  auto args = ParseCommandArgs(raw_args, allowed, valued);
  if (!args.ok()) return UsageError(args.status(), "batch score");
  auto request = ScoreRequest(*args);
  if (!request.ok()) return UsageError(request.status(), "batch score");
  auto timeout = DurationOption(*args, "timeout", absl::Minutes(10));
  if (!timeout.ok()) return UsageError(timeout.status(), "batch score");
  auto input = ResolveInput(ctx, args->options.at("dataset"), OptionOr(*args, "dataset_version", ""));
  if (!input.ok()) return ReportError(input.status(), "batch score: input dataset");
  request->set_input_dataset_version(input->id());
  inv1::BatchScoringJob job;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->SubmitBatchScoring(context.get(), *request, &job);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "batch score");
  const bool wait = args->options.count("wait") > 0;
  if (ctx.json() && !wait) {
    PrintJson(job);
  } else if (!ctx.json()) {
    std::cout << "submitted " << job.job_id() << ": " << job.model() << "@" << job.version() << " on "
              << input->dataset() << "@" << input->id() << " (" << input->row_count() << " rows) -> "
              << job.output_dataset() << "\n";
    if (!wait) std::cout << "follow it: mlopsctl batch status " << job.job_id() << " --wait\n";
  }
  return wait ? PollUntilDone(ctx, job.job_id(), *timeout) : kExitOk;
}

int Status(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"wait", "timeout"}, {"timeout"});
  if (!args.ok()) return UsageError(args.status(), "batch status");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one JOB id (bsj-...)"), "batch status");
  }
  auto timeout = DurationOption(*args, "timeout", absl::Minutes(10));
  if (!timeout.ok()) return UsageError(timeout.status(), "batch status");
  const std::string& job_id = args->positional[0];
  if (args->options.count("wait")) return PollUntilDone(ctx, job_id, *timeout);
  inv1::GetBatchScoringJobRequest request;
  request.set_job_id(job_id);
  inv1::BatchScoringJob job;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetBatchScoringJob(context.get(), request, &job);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "batch status " + job_id);
  if (ctx.json()) {
    PrintJson(job);
  } else {
    BatchJobTable(job).Print(std::cout);
  }
  return kExitOk;
}

}  // namespace

void AddBatchCommands(std::vector<Command>& commands) {
  commands.push_back({"batch score",
                      "batch score --model NAME [--version N] --dataset NAME [--dataset_version ID] "
                      "[--point_in_time] [--output_dataset NAME] [--passthrough C,C] [--prefix P] [--key K] "
                      "[--wait [--timeout 10m]]",
                      "score a dataset version with a model version (0/absent = production) into a new "
                      "version of the output dataset (default NAME_scores)",
                      Score});
  commands.push_back({"batch status", "batch status JOB [--wait [--timeout 10m]]",
                      "a batch scoring job's state, progress, output version and error", Status});
}

}  // namespace mlops::cli
