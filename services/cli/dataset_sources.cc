#include "services/cli/dataset_sources.h"

#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/output.h"
#include "services/cli/table.h"
#include "services/cli/validation_report.h"

namespace mlops::cli {
namespace {

namespace iv1 = ::mlops::ingestion::v1;

std::unique_ptr<iv1::IngestionService::Stub> Stub(CliContext& ctx) {
  return iv1::IngestionService::NewStub(ctx.Channel("ingestion"));
}

constexpr char kCreate[] = "datasets sources create";

// A watermark: the integer, or the timestamp in UTC.
std::string WatermarkText(const ::mlops::common::v1::Value& v) {
  if (v.kind_case() == ::mlops::common::v1::Value::kTimestampMicros) {
    return FormatMicros(v.timestamp_micros());
  }
  if (v.kind_case() == ::mlops::common::v1::Value::kInt64Value) {
    return absl::StrCat(v.int64_value());
  }
  return "none";
}

// Builds the source from the command line; InvalidArgument naming the option.
absl::StatusOr<iv1::Source> SourceFromArgs(const CommandArgs& args) {
  auto opt = [&](const char* name) {
    auto it = args.options.find(name);
    return it == args.options.end() ? std::string() : it->second;
  };
  if (args.positional.size() != 1 || opt("dataset").empty()) {
    return absl::InvalidArgumentError("give the source name and --dataset=NAME");
  }
  iv1::Source s;
  s.set_name(args.positional[0]);
  s.set_dataset(opt("dataset"));
  s.set_mode(args.options.count("replace") ? iv1::INGEST_MODE_REPLACE : iv1::INGEST_MODE_APPEND);
  s.set_paused(args.options.count("paused") > 0);
  auto interval = DurationOption(args, "interval", absl::ZeroDuration());
  if (!interval.ok()) return interval.status();
  s.set_interval_micros(absl::ToInt64Microseconds(*interval));
  const bool postgres = args.options.count("query") > 0;
  if (postgres == (args.options.count("csv-folder") > 0)) {
    return absl::InvalidArgumentError("give either --query (a PostgreSQL source) or --csv-folder");
  }
  if (postgres) {
    auto* q = s.mutable_postgres_query();
    if (args.options.count("dsn-env")) {
      q->set_dsn_env_var(opt("dsn-env"));
    } else {
      q->set_dsn(opt("dsn"));
    }
    q->set_query(opt("query"));
    q->set_watermark_column(opt("watermark"));
    if (args.options.count("max-rows")) {
      int64_t n = 0;
      if (!absl::SimpleAtoi(opt("max-rows"), &n)) {
        return absl::InvalidArgumentError("--max-rows: not an integer");
      }
      q->set_max_rows_per_pull(n);
    }
  } else {
    auto* c = s.mutable_csv_folder();
    c->set_path(opt("csv-folder"));
    c->set_glob(opt("glob"));
    c->set_no_header(args.options.count("no-header") > 0);
    c->set_delimiter(opt("delimiter"));
    c->set_null_text(opt("null-text"));
  }
  return s;
}

// Prints the result; kExitOk for committed / no new data, else kExitFailed.
int PrintPull(const iv1::SourcePullResult& r) {
  const iv1::PullInfo& p = r.pull();
  std::string what = p.file().empty() ? "" : absl::StrCat(" file ", p.file());
  if (p.has_watermark_to()) {
    what = absl::StrCat(" watermark (", WatermarkText(p.watermark_from()), ", ",
                        WatermarkText(p.watermark_to()), "]");
  }
  switch (r.outcome()) {
    case iv1::PULL_OUTCOME_COMMITTED:
      std::cout << "committed version " << r.version().sequence() << " ("
                << ShortId(r.version().id()) << "): " << r.version().batch_row_count()
                << " rows," << what << "\n";
      return kExitOk;
    case iv1::PULL_OUTCOME_NO_NEW_DATA:
      std::cout << "no new data\n";
      return kExitOk;
    case iv1::PULL_OUTCOME_REJECTED:
      std::cout << "rejected (nothing stored," << what << "):\n";
      PrintValidationReport(r.report(), std::cout);
      return kExitFailed;
    default:
      std::cout << "failed (nothing stored): " << r.error() << "\n";
      return kExitFailed;
  }
}

int Create(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(
      raw_args, {"dataset", "dsn", "dsn-env", "query", "watermark", "max-rows", "csv-folder",
                 "glob", "no-header", "delimiter", "null-text", "interval", "replace", "paused"});
  if (!args.ok()) return UsageError(args.status(), kCreate);
  absl::StatusOr<iv1::Source> source = SourceFromArgs(*args);
  if (!source.ok()) return UsageError(source.status(), kCreate);
  iv1::CreateSourceRequest request;
  *request.mutable_source() = *source;
  iv1::Source created;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->CreateSource(context.get(), request, &created);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), kCreate);
  if (ctx.json()) {
    PrintJson(created);
  } else {
    std::cout << "created source \"" << created.name() << "\" for dataset " << created.dataset()
              << (created.interval_micros() > 0
                      ? absl::StrCat(", pulled every ",
                                     absl::FormatDuration(absl::Microseconds(created.interval_micros())))
                      : std::string(", pulled on demand"))
              << "\n";
  }
  return kExitOk;
}

int List(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"dataset"});
  if (!args.ok()) return UsageError(args.status(), "datasets sources list");
  iv1::ListSourcesRequest request;
  if (auto it = args->options.find("dataset"); it != args->options.end()) {
    request.set_dataset(it->second);
  }
  request.mutable_page()->set_page_size(1000);
  iv1::ListSourcesResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListSources(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets sources list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"SOURCE", "DATASET", "KIND", "EVERY", "WATERMARK", "PULLS", "COMMITTED", "LAST",
               "NEXT"});
  for (const iv1::Source& s : response.sources()) {
    std::string last = "-";
    if (s.has_last_pull()) {
      last = iv1::PullOutcome_Name(s.last_pull().outcome()).substr(std::string("PULL_OUTCOME_").size());
    }
    table.AddRow({s.name(), s.dataset(), s.has_postgres_query() ? "postgres" : "csv",
                  s.interval_micros() > 0
                      ? absl::FormatDuration(absl::Microseconds(s.interval_micros()))
                      : "-",
                  s.has_watermark() ? WatermarkText(s.watermark()) : "-",
                  absl::StrCat(s.pull_count()), absl::StrCat(s.committed_pull_count()), last,
                  s.next_pull_at_micros() > 0 ? FormatMicros(s.next_pull_at_micros()) : "-"});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Pull(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"timeout"});
  if (!args.ok()) return UsageError(args.status(), "datasets sources pull");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one source name"), "datasets sources pull");
  }
  auto timeout = DurationOption(*args, "timeout", absl::Minutes(10));
  if (!timeout.ok()) return UsageError(timeout.status(), "datasets sources pull");
  iv1::TriggerSourcePullRequest request;
  request.set_name(args->positional[0]);
  iv1::SourcePullResult result;
  auto context = ctx.NewContext(std::chrono::milliseconds(absl::ToInt64Milliseconds(*timeout)));
  const grpc::Status status = Stub(ctx)->TriggerSourcePull(context.get(), request, &result);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets sources pull");
  if (ctx.json()) {
    PrintJson(result);
    return result.outcome() == iv1::PULL_OUTCOME_COMMITTED ||
                   result.outcome() == iv1::PULL_OUTCOME_NO_NEW_DATA
               ? kExitOk
               : kExitFailed;
  }
  return PrintPull(result);
}

}  // namespace

void AddDatasetSourceCommands(std::vector<Command>& commands) {
  commands.push_back(
      {kCreate,
       "datasets sources create NAME --dataset=D (--query=SQL --watermark=COL --dsn=DSN | "
       "--csv-folder=DIR) [--interval=1m]",
       "a source the dataset pulls from (on demand and every --interval)", Create});
  commands.push_back({"datasets sources list", "datasets sources list [--dataset=D]",
                      "sources with their watermark and last pull", List});
  commands.push_back({"datasets sources pull", "datasets sources pull NAME [--timeout=10m]",
                      "pull a source now (validated and versioned like an ingest)", Pull});
}

}  // namespace mlops::cli
