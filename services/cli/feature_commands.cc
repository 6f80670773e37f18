// `mlopsctl features register FILE` and `features export VIEW... --entities
// FILE.csv --out FILE.csv`: feature view definitions from a JSON file, and
// point-in-time training sets from the feature service as CSV. (`features
// list|online` live in serving_commands.cc.)
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/file_util.h"
#include "common/status/grpc_status.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/csv_table.h"
#include "services/cli/feature_files.h"
#include "services/cli/output.h"
#include "services/cli/table.h"

namespace mlops::cli {

namespace fv1 = ::mlops::features::v1;
namespace cv1 = ::mlops::common::v1;

absl::StatusOr<fv1::RegisterFeatureViewRequest> ParseFeatureViewFile(const std::string& text,
                                                                     const std::string& source) {
  return ParseRequestOrSpecJson<fv1::RegisterFeatureViewRequest>(
      text, source,
      "a feature view definition (a FeatureViewSpec, or a RegisterFeatureViewRequest "
      "{\"spec\": ...}, in protobuf JSON)");
}

std::string ExportRef(const std::string& word) {
  return word.find(':') == std::string::npos ? word + ":*" : word;
}

namespace {

// Inline entity rows above this go through a dataset instead (the servers'
// default maximum message size is 64 MiB).
constexpr std::size_t kMaxInlineBytes = std::size_t{32} << 20;

std::unique_ptr<fv1::FeatureService::Stub> Stub(CliContext& ctx) {
  return fv1::FeatureService::NewStub(ctx.Channel("features"));
}

std::string FeatureKind(const fv1::FeatureDefinition& f) {
  if (f.has_raw()) return absl::StrCat("raw ", f.raw().column());
  const fv1::WindowedAggregation& a = f.aggregation();
  return absl::StrCat(EnumText(fv1::AggregationFunction_Name(a.function()), "AGGREGATION_FUNCTION_"),
                      "(", a.column().empty() ? "*" : a.column(), ") over ",
                      FormatDurationMicros(a.window_micros()));
}

int Register(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "features register");
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give one definition file (JSON)"), "features register");
  }
  auto text = ReadFileToString(args->positional[0]);
  if (!text.ok()) return UsageError(text.status(), "features register");
  auto request = ParseFeatureViewFile(*text, args->positional[0]);
  if (!request.ok()) return UsageError(request.status(), "features register");
  fv1::RegisterFeatureViewResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->RegisterFeatureView(context.get(), *request, &response);
  if (!status.ok()) {
    return ReportError(FromGrpcStatus(status), "features register " + request->spec().name());
  }
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  const fv1::FeatureView& v = response.view();
  std::cout << (response.created() ? "registered " : "unchanged: ") << v.spec().name() << "@"
            << v.version() << (response.created() ? "" : " already matches the definition")
            << " (dataset " << v.spec().source_dataset() << ", entity " << v.spec().entity_key_column()
            << ", time " << OrDash(v.spec().timestamp_column()) << ")\n";
  Table table({"FEATURE", "TYPE", "DEFINITION"});
  for (int i = 0; i < v.spec().features_size(); ++i) {
    const fv1::FeatureDefinition& f = v.spec().features(i);
    const std::string type = i < v.feature_schema().columns_size()
                                 ? EnumText(cv1::DataType_Name(v.feature_schema().columns(i).type()), "DATA_TYPE_")
                                 : "-";
    table.AddRow({f.name(), type, FeatureKind(f)});
  }
  table.Print(std::cout);
  return kExitOk;
}

// The entity key column and type each requested view joins on, so the CSV's
// key column is typed as the view expects (a "0042" stays a string).
absl::StatusOr<std::map<std::string, cv1::DataType>> KeyTypes(CliContext& ctx,
                                                              const std::vector<std::string>& refs) {
  std::map<std::string, cv1::DataType> forced;
  for (const std::string& ref : refs) {
    const std::string view = ref.substr(0, ref.find_first_of("@:"));
    fv1::GetFeatureViewRequest request;
    request.set_name(view);
    if (const std::size_t at = ref.find('@'); at != std::string::npos && at < ref.find(':')) {
      int64_t version = 0;
      if (absl::SimpleAtoi(ref.substr(at + 1, ref.find(':') - at - 1), &version)) request.set_version(version);
    }
    fv1::FeatureView found;
    auto context = ctx.NewContext();
    const grpc::Status status = Stub(ctx)->GetFeatureView(context.get(), request, &found);
    if (!status.ok()) return FromGrpcStatus(status);
    forced[found.spec().entity_key_column()] = found.entity_key_type();
  }
  return forced;
}

// The input rows from --entities FILE.csv (typed, sent inline) or --dataset
// NAME[@VERSION] (read by the feature service). A bad file is a usage error;
// an unknown view is the service's error.
struct EntityInput {
  absl::Status usage;
  absl::Status service;
};

EntityInput SetEntityRows(CliContext& ctx, const CommandArgs& args, const std::vector<std::string>& refs,
                          fv1::GetHistoricalFeaturesRequest& request) {
  if (args.options.count("dataset")) {
    const std::string ref = args.options.at("dataset");
    request.mutable_dataset()->set_dataset(ref.substr(0, ref.find('@')));
    if (ref.find('@') != std::string::npos) request.mutable_dataset()->set_version_id(ref.substr(ref.find('@') + 1));
    return {};
  }
  auto forced = KeyTypes(ctx, refs);
  if (!forced.ok()) return {absl::OkStatus(), forced.status()};
  const std::string path = args.options.at("entities");
  const std::string key = OptionOr(args, "entity_key", "");
  if (!key.empty() && !forced->empty()) (*forced)[key] = forced->begin()->second;
  auto text = ReadFileToString(path);
  if (!text.ok()) return {text.status(), absl::OkStatus()};
  auto entities = ParseTypedCsv(*text, path, *forced);
  if (!entities.ok()) return {entities.status(), absl::OkStatus()};
  if (request.timestamp_column().empty()) {  // the file's one TIMESTAMP column, if it has exactly one
    std::string timestamp;
    for (const cv1::Column& c : entities->schema.columns()) {
      if (c.type() != cv1::DATA_TYPE_TIMESTAMP) continue;
      if (!timestamp.empty()) {
        return {absl::InvalidArgumentError(absl::StrCat(path, " has several time columns (", timestamp, ", ",
                                                        c.name(), "): say which with --timestamp COLUMN")),
                absl::OkStatus()};
      }
      timestamp = c.name();
    }
    request.set_timestamp_column(timestamp);
  }
  *request.mutable_inline_rows()->mutable_schema() = entities->schema;
  for (cv1::Row& row : entities->rows) *request.mutable_inline_rows()->add_rows() = std::move(row);
  return {};
}

int Export(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"entities", "dataset", "out", "entity_key", "timestamp", "full_names"},
                               {"entities", "dataset", "out", "entity_key", "timestamp"});
  if (!args.ok()) return UsageError(args.status(), "features export");
  if (args->positional.empty() || args->options.count("entities") == args->options.count("dataset") ||
      !args->options.count("out")) {
    return UsageError(absl::InvalidArgumentError(
                          "give VIEW... (view, view@3 or view:feature), --entities FILE.csv or --dataset "
                          "NAME[@VERSION], and --out FILE.csv"),
                      "features export");
  }
  std::vector<std::string> refs;
  for (const std::string& word : args->positional) refs.push_back(ExportRef(word));
  fv1::GetHistoricalFeaturesRequest request;
  for (const std::string& ref : refs) request.add_feature_refs(ref);
  request.set_entity_key_column(OptionOr(*args, "entity_key", ""));
  request.set_timestamp_column(OptionOr(*args, "timestamp", ""));
  const EntityInput input = SetEntityRows(ctx, *args, refs, request);
  if (!input.usage.ok()) return UsageError(input.usage, "features export");
  if (!input.service.ok()) return ReportError(input.service, "features export");
  if (request.ByteSizeLong() > kMaxInlineBytes) {
    return UsageError(absl::InvalidArgumentError(absl::StrCat(
                          OptionOr(*args, "entities", ""), " is ", request.ByteSizeLong() >> 20,
                          " MiB as a request, more than the ", kMaxInlineBytes >> 20,
                          " MiB one call carries: ingest it as a dataset and use --dataset NAME")),
                      "features export");
  }
  request.set_full_feature_names(args->options.count("full_names") > 0);

  const std::string out_path = args->options.at("out");
  std::ofstream file;
  if (out_path != "-") {
    file.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file) return UsageError(absl::InvalidArgumentError("cannot write " + out_path), "features export");
  }
  std::ostream& out = out_path == "-" ? std::cout : file;
  auto context = ctx.NewContext(std::chrono::minutes(30));
  auto reader = Stub(ctx)->GetHistoricalFeatures(context.get(), request);
  fv1::GetHistoricalFeaturesResponse message;
  fv1::HistoricalFeaturesHeader header;
  int64_t rows = 0;
  while (reader->Read(&message)) {
    if (message.has_header()) {
      header = message.header();
      WriteCsv(header.schema(), {}, out);
    } else {
      WriteCsvRows({message.chunk().rows().begin(), message.chunk().rows().end()}, out);
      rows += message.chunk().rows_size();
    }
  }
  const grpc::Status status = reader->Finish();
  out.flush();
  if (!status.ok()) {
    if (out_path != "-") std::remove(out_path.c_str());  // no half-written training set
    return ReportError(FromGrpcStatus(status), "features export");
  }
  if (!out) return ReportError(absl::InternalError("writing " + out_path + " failed"), "features export");
  if (ctx.json()) {
    if (out_path != "-") PrintJson(header);
    return kExitOk;
  }
  std::vector<std::string> views;
  for (const fv1::ViewVersionUsed& v : header.views()) {
    views.push_back(absl::StrCat(v.view(), "@", v.version(), " (dataset version ",
                                 ShortId(v.source_dataset_version_id()), ")"));
  }
  (out_path == "-" ? std::cerr : std::cout)
      << "wrote " << rows << " rows x " << header.schema().columns_size() << " columns to " << out_path
      << " from " << absl::StrJoin(views, ", ") << "\n";
  return kExitOk;
}

}  // namespace

void AddFeatureCommands(std::vector<Command>& commands) {
  commands.push_back({"features register", "features register FILE.json",
                      "register a feature view from a JSON definition (new version if it changed)",
                      Register});
  commands.push_back({"features export",
                      "features export VIEW... (--entities FILE.csv | --dataset D[@V]) --out FILE.csv",
                      "point-in-time features for the rows of a CSV (or a dataset), written as CSV", Export});
}

}  // namespace mlops::cli
