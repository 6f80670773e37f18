// `mlopsctl datasets ingest NAME FILE.csv`: streams a CSV file to IngestBatch
// (or ValidateBatch with --dry_run), parsed and typed against the dataset's
// schema on the client, in chunks, with a progress bar. A CSV error stops the
// stream before its BatchEnd, so the server stores nothing.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/grpc_status.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/progress.h"
#include "services/cli/validation_report.h"
#include "services/ingestion/csv.h"
#include "services/ingestion/proto_convert.h"

namespace mlops::cli {
namespace {

namespace iv1 = ::mlops::ingestion::v1;

constexpr std::size_t kReadBytes = 1 << 20;
constexpr int64_t kDefaultChunkRows = 8192;
constexpr auto kIngestDeadline = std::chrono::hours(2);

struct IngestOptions {
  std::string dataset;
  std::string path;
  iv1::IngestMode mode = iv1::INGEST_MODE_APPEND;
  std::string idempotency_key;
  std::string source;
  bool dry_run = false;
  int64_t chunk_rows = kDefaultChunkRows;
};

absl::StatusOr<IngestOptions> ParseIngestOptions(const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"mode", "key", "source", "dry_run", "chunk_rows"});
  if (!args.ok()) return args.status();
  if (args->positional.size() != 2) {
    return absl::InvalidArgumentError("give the dataset name and the CSV file");
  }
  IngestOptions options;
  options.dataset = args->positional[0];
  options.path = args->positional[1];
  options.source = absl::StrCat("mlopsctl:", options.path);
  if (auto it = args->options.find("mode"); it != args->options.end()) {
    if (it->second == "replace") {
      options.mode = iv1::INGEST_MODE_REPLACE;
    } else if (it->second != "append") {
      return absl::InvalidArgumentError("--mode must be append or replace");
    }
  }
  if (auto it = args->options.find("key"); it != args->options.end()) {
    options.idempotency_key = it->second;
  }
  if (auto it = args->options.find("source"); it != args->options.end()) options.source = it->second;
  options.dry_run = args->options.count("dry_run") > 0;
  if (auto it = args->options.find("chunk_rows"); it != args->options.end()) {
    if (!absl::SimpleAtoi(it->second, &options.chunk_rows) || options.chunk_rows <= 0) {
      return absl::InvalidArgumentError("--chunk_rows must be a positive integer");
    }
  }
  return options;
}

// Reads the file through the typed CSV reader and writes RowChunks to the
// stream. Returns the rows sent, or the first CSV or I/O error.
template <typename Writer>
absl::StatusOr<int64_t> SendRows(std::ifstream& file, ingestion::CsvReader& reader,
                                 int64_t chunk_rows, Writer& writer, Progress& progress) {
  std::vector<ingestion::Row> rows;
  std::string buffer(kReadBytes, '\0');
  int64_t sent = 0;
  int64_t bytes_read = 0;
  auto flush = [&](bool all) -> absl::Status {
    while (static_cast<int64_t>(rows.size()) >= (all ? 1 : chunk_rows)) {
      const std::size_t n = std::min<std::size_t>(rows.size(), chunk_rows);
      iv1::IngestBatchRequest message;
      auto* proto_rows = message.mutable_chunk()->mutable_rows();
      proto_rows->Reserve(static_cast<int>(n));
      for (std::size_t i = 0; i < n; ++i) {
        auto* row = proto_rows->Add();
        for (const ingestion::Value& value : rows[i]) ingestion::ValueToProto(value, row->add_values());
      }
      rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n));
      if (!writer.Write(message)) return absl::UnavailableError("the server closed the stream");
      sent += static_cast<int64_t>(n);
      progress.Update(sent, bytes_read);
    }
    return absl::OkStatus();
  };
  while (file) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = file.gcount();
    if (got <= 0) break;
    bytes_read += got;
    absl::Status fed = reader.Feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)), &rows);
    if (!fed.ok()) return fed;
    if (absl::Status status = flush(false); !status.ok()) return status;
  }
  if (file.bad()) return absl::DataLossError("reading the file failed");
  if (absl::Status status = reader.Finish(&rows); !status.ok()) return status;
  if (absl::Status status = flush(true); !status.ok()) return status;
  return sent;
}

void PrintCommitted(const IngestOptions& options, const iv1::IngestBatchResponse& response,
                    double seconds) {
  const iv1::DatasetVersion& v = response.version();
  if (response.outcome() == iv1::INGEST_OUTCOME_REPLAYED) {
    std::cout << "already ingested (idempotency key \"" << options.idempotency_key
              << "\"): version " << v.sequence() << " (" << ShortId(v.id()) << ")\n";
    return;
  }
  std::cout << absl::StrFormat(
      "committed version %d (%s) of \"%s\": %d rows %s in %.2f s (%.0f rows/s); %d rows in all\n",
      v.sequence(), ShortId(v.id()), v.dataset(), v.batch_row_count(),
      v.mode() == iv1::INGEST_MODE_REPLACE ? "replaced" : "appended", seconds,
      seconds > 0 ? static_cast<double>(v.batch_row_count()) / seconds : 0.0, v.row_count());
  if (response.report().warning_count() > 0) PrintValidationReport(response.report(), std::cout);
}

int Ingest(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto options = ParseIngestOptions(raw_args);
  if (!options.ok()) return UsageError(options.status(), "datasets ingest");
  std::ifstream file(options->path, std::ios::binary | std::ios::ate);
  if (!file) {
    return UsageError(absl::NotFoundError(absl::StrCat("cannot open ", options->path)),
                      "datasets ingest");
  }
  const int64_t size = file.tellg();
  file.seekg(0);

  auto stub = iv1::IngestionService::NewStub(ctx.Channel("ingestion"));
  iv1::GetDatasetRequest get;
  get.set_name(options->dataset);
  iv1::Dataset dataset;
  auto get_context = ctx.NewContext();
  if (grpc::Status s = stub->GetDataset(get_context.get(), get, &dataset); !s.ok()) {
    return ReportError(FromGrpcStatus(s), "datasets ingest");
  }
  ingestion::CsvReader reader(ingestion::SchemaFromProto(dataset.schema()));

  auto context = ctx.NewContext(kIngestDeadline);
  iv1::IngestBatchResponse ingest_response;
  iv1::ValidateBatchResponse validate_response;
  auto writer = options->dry_run ? stub->ValidateBatch(context.get(), &validate_response)
                                 : stub->IngestBatch(context.get(), &ingest_response);
  iv1::IngestBatchRequest header;
  header.mutable_header()->set_dataset(options->dataset);
  header.mutable_header()->set_mode(options->mode);
  header.mutable_header()->set_idempotency_key(options->idempotency_key);
  header.mutable_header()->set_source(options->source);
  Progress progress(size);
  absl::StatusOr<int64_t> sent =
      writer->Write(header) ? SendRows(file, reader, options->chunk_rows, *writer, progress)
                            : absl::StatusOr<int64_t>(absl::UnavailableError("stream closed"));
  const double seconds = progress.Finish();
  if (!sent.ok() && !absl::IsUnavailable(sent.status())) {
    context->TryCancel();  // no BatchEnd: the server stores nothing
    (void)writer->Finish();
    return ReportError(absl::InvalidArgumentError(absl::StrCat(options->path, ":", sent.status().message())),
                       "datasets ingest (nothing was stored)");
  }
  if (sent.ok()) {
    iv1::IngestBatchRequest end;
    end.mutable_end()->set_row_count(*sent);
    writer->Write(end);
    writer->WritesDone();
  }
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets ingest");
  if (options->dry_run) {
    if (ctx.json()) {
      PrintJson(validate_response);
    } else {
      PrintValidationReport(validate_response.report(), std::cout);
    }
    return validate_response.report().passed() ? kExitOk : kExitFailed;
  }
  if (ctx.json()) {
    PrintJson(ingest_response);
  } else if (ingest_response.outcome() == iv1::INGEST_OUTCOME_REJECTED) {
    std::cout << "batch rejected; nothing was stored\n";
    PrintValidationReport(ingest_response.report(), std::cout);
  } else {
    PrintCommitted(*options, ingest_response, seconds);
  }
  return ingest_response.outcome() == iv1::INGEST_OUTCOME_REJECTED ? kExitFailed : kExitOk;
}

}  // namespace

void AddDatasetIngestCommands(std::vector<Command>& commands) {
  commands.push_back(
      {"datasets ingest",
       "datasets ingest NAME FILE.csv [--mode=append|replace] [--key=K] [--dry_run]",
       "validate and ingest a CSV (header row = schema columns); exit 1 if rejected", Ingest});
}

}  // namespace mlops::cli
