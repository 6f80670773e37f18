// `mlopsctl datasets ...`: create, list, show, versions, profile, report.
// (`datasets ingest` lives in dataset_ingest.cc, `datasets sources` in
// dataset_sources.cc.)
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/file_util.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/util/json_util.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/dataset_ref.h"
#include "services/cli/dataset_sources.h"
#include "services/cli/output.h"
#include "services/cli/table.h"
#include "services/cli/validation_report.h"

namespace mlops::cli {
namespace {

namespace iv1 = ::mlops::ingestion::v1;
namespace cv1 = ::mlops::common::v1;

std::unique_ptr<iv1::IngestionService::Stub> Stub(CliContext& ctx) {
  return iv1::IngestionService::NewStub(ctx.Channel("ingestion"));
}

std::string TypeName(cv1::DataType type) {
  std::string name = cv1::DataType_Name(type);
  return absl::AsciiStrToLower(name.substr(std::string("DATA_TYPE_").size()));
}

std::string RoleName(cv1::ColumnRole role) {
  if (role == cv1::COLUMN_ROLE_UNSPECIFIED) return "-";
  std::string name = cv1::ColumnRole_Name(role);
  return absl::AsciiStrToLower(name.substr(std::string("COLUMN_ROLE_").size()));
}

// The definition file is a CreateDatasetRequest in protobuf JSON:
//   {"description": "...", "schema": {"columns": [{"name": "amount", "type": "DATA_TYPE_DOUBLE",
//    "role": "COLUMN_ROLE_FEATURE"}]}, "expectations": [{"name": "...", "column": "amount",
//    "severity": "SEVERITY_ERROR", "between": {"min": {"doubleValue": 0}}}]}
int Create(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"schema", "description"});
  if (!args.ok()) return UsageError(args.status(), "datasets create");
  if (args->positional.size() != 1 || !args->options.count("schema")) {
    return UsageError(absl::InvalidArgumentError("give the dataset name and --schema=FILE.json"),
                      "datasets create");
  }
  const std::string& path = args->options.at("schema");
  auto text = ReadFileToString(path);
  if (!text.ok()) return UsageError(text.status(), "datasets create");
  iv1::CreateDatasetRequest request;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*text, &request);
  if (!parsed.ok()) {
    return UsageError(absl::InvalidArgumentError(absl::StrCat(
                          path, ": not a CreateDatasetRequest in JSON: ", parsed.ToString())),
                      "datasets create");
  }
  request.set_name(args->positional[0]);
  if (auto it = args->options.find("description"); it != args->options.end()) {
    request.set_description(it->second);
  }
  iv1::Dataset dataset;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->CreateDataset(context.get(), request, &dataset);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets create");
  if (ctx.json()) {
    PrintJson(dataset);
  } else {
    std::cout << "created dataset \"" << dataset.name() << "\": " << dataset.schema().columns_size()
              << " columns, " << dataset.expectations().expectations_size()
              << " expectations (suite v" << dataset.expectations().version() << ")\n";
  }
  return kExitOk;
}

int List(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"prefix"});
  if (!args.ok()) return UsageError(args.status(), "datasets list");
  iv1::ListDatasetsRequest request;
  if (auto it = args->options.find("prefix"); it != args->options.end()) {
    request.set_name_prefix(it->second);
  }
  request.mutable_page()->set_page_size(1000);
  iv1::ListDatasetsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListDatasets(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"DATASET", "COLUMNS", "VERSIONS", "ROWS", "HEAD", "UPDATED"});
  for (const iv1::Dataset& d : response.datasets()) {
    table.AddRow({d.name(), absl::StrCat(d.schema().columns_size()), absl::StrCat(d.head_sequence()),
                  absl::StrCat(d.head_row_count()), ShortId(d.head_version_id()),
                  FormatMicros(d.updated_at_micros())});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Show(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "datasets show");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one dataset name"), "datasets show");
  }
  iv1::GetDatasetRequest request;
  request.set_name(args->positional[0]);
  iv1::Dataset d;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetDataset(context.get(), request, &d);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets show");
  if (ctx.json()) {
    PrintJson(d);
    return kExitOk;
  }
  std::cout << "dataset " << d.name() << ": " << d.head_row_count() << " rows in version "
            << d.head_sequence() << " (" << ShortId(d.head_version_id()) << ")\n";
  if (!d.description().empty()) std::cout << d.description() << "\n";
  Table columns({"COLUMN", "TYPE", "NULLABLE", "ROLE"});
  for (const cv1::Column& c : d.schema().columns()) {
    columns.AddRow({c.name(), TypeName(c.type()), c.nullable() ? "yes" : "no", RoleName(c.role())});
  }
  columns.Print(std::cout);
  std::cout << "expectation suite v" << d.expectations().version() << ": "
            << d.expectations().expectations_size() << " expectations\n";
  return kExitOk;
}

int Versions(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "datasets versions");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one dataset name"), "datasets versions");
  }
  iv1::ListDatasetVersionsRequest request;
  request.set_dataset(args->positional[0]);
  request.mutable_page()->set_page_size(1000);
  iv1::ListDatasetVersionsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListDatasetVersions(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets versions");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"SEQ", "VERSION", "MODE", "ROWS", "BATCH ROWS", "CREATED", "BY", "SOURCE"});
  for (const iv1::DatasetVersion& v : response.versions()) {
    table.AddRow({absl::StrCat(v.sequence()), ShortId(v.id()),
                  v.mode() == iv1::INGEST_MODE_REPLACE ? "replace" : "append",
                  absl::StrCat(v.row_count()), absl::StrCat(v.batch_row_count()),
                  FormatMicros(v.created_at_micros()), OrDash(v.principal()), OrDash(v.source())});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Profile(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"batch"});
  if (!args.ok()) return UsageError(args.status(), "datasets profile");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give NAME or NAME@VERSION"), "datasets profile");
  }
  iv1::GetProfileRequest request;
  *request.mutable_version() = ParseDatasetRef(args->positional[0]);
  request.set_scope(args->options.count("batch") ? iv1::PROFILE_SCOPE_BATCH
                                                 : iv1::PROFILE_SCOPE_VERSION);
  iv1::GetProfileResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetProfile(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets profile");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  std::cout << "profile of version " << ShortId(response.version_id()) << ": "
            << response.profile().row_count() << " rows\n";
  Table table({"COLUMN", "TYPE", "COUNT", "NULLS", "MEAN", "STDDEV", "MIN", "MAX", "DISTINCT",
               "TOP"});
  for (const cv1::ColumnProfile& c : response.profile().columns()) {
    const bool numeric = c.type() == cv1::DATA_TYPE_INT64 || c.type() == cv1::DATA_TYPE_DOUBLE ||
                         c.type() == cv1::DATA_TYPE_TIMESTAMP;
    std::vector<std::string> top;
    for (const cv1::CategoryCount& category : c.top_categories()) {
      if (top.size() == 3) break;
      top.push_back(absl::StrCat(category.value(), " (", category.count(), ")"));
    }
    table.AddRow({c.name(), TypeName(c.type()), absl::StrCat(c.count()),
                  absl::StrCat(c.null_count()), numeric ? FormatNumber(c.mean()) : "-",
                  numeric ? FormatNumber(c.stddev()) : "-", numeric ? FormatNumber(c.min()) : "-",
                  numeric ? FormatNumber(c.max()) : "-", FormatNumber(c.distinct_estimate()),
                  top.empty() ? "-" : absl::StrJoin(top, ", ")});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Report(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "datasets report");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give NAME or NAME@VERSION"), "datasets report");
  }
  iv1::GetDatasetVersionRequest request;
  *request.mutable_version() = ParseDatasetRef(args->positional[0]);
  request.set_include_report(true);
  iv1::DatasetVersion version;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetDatasetVersion(context.get(), request, &version);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "datasets report");
  if (ctx.json()) {
    PrintJson(version.report());
    return kExitOk;
  }
  std::cout << "version " << version.sequence() << " (" << ShortId(version.id()) << ")\n";
  PrintValidationReport(version.report(), std::cout);
  return kExitOk;
}

}  // namespace

void AddDatasetCommands(std::vector<Command>& commands) {
  commands.push_back({"datasets create", "datasets create NAME --schema=FILE.json",
                      "create a dataset from a JSON definition (schema, expectations)", Create});
  commands.push_back({"datasets list", "datasets list [--prefix=P]", "datasets and their heads",
                      List});
  commands.push_back({"datasets show", "datasets show NAME", "schema and head of a dataset", Show});
  commands.push_back({"datasets versions", "datasets versions NAME", "a dataset's versions",
                      Versions});
  commands.push_back({"datasets profile", "datasets profile NAME[@VERSION] [--batch]",
                      "column statistics of a version (or of its batch)", Profile});
  commands.push_back({"datasets report", "datasets report NAME[@VERSION]",
                      "the validation report of a version", Report});
  AddDatasetSourceCommands(commands);
}

}  // namespace mlops::cli
