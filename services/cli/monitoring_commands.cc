// `mlopsctl drift MODEL@VERSION`: the drift report of the latest window as a
// table, with a small bar chart of the reference and current histograms.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/table.h"

namespace mlops::cli {
namespace {

namespace mv1 = ::mlops::monitoring::v1;

// Eight-level bars, one character per bin, scaled to the largest bin.
std::string Sparkline(const common::v1::Histogram& h) {
  static const char* const kLevels[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  int64_t top = 0;
  for (int64_t c : h.counts()) top = std::max(top, c);
  std::string out;
  for (int64_t c : h.counts()) out += kLevels[top == 0 ? 0 : (c * 8 + top - 1) / top];
  return out.empty() ? "-" : out;
}

std::string TestName(mv1::DriftTest test) {
  std::string name = mv1::DriftTest_Name(test);
  const std::size_t prefix = std::string("DRIFT_TEST_").size();
  return absl::AsciiStrToLower(name.size() > prefix ? name.substr(prefix) : name);
}

int Drift(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"open"});
  if (!args.ok()) return UsageError(args.status(), "drift");
  const std::size_t at = args->positional.size() == 1 ? args->positional[0].find('@') : std::string::npos;
  int64_t version = 0;
  if (at == std::string::npos || !absl::SimpleAtoi(args->positional[0].substr(at + 1), &version)) {
    return UsageError(absl::InvalidArgumentError("give MODEL@VERSION, e.g. fraud@1"), "drift");
  }
  mv1::GetDriftReportRequest request;
  request.set_model(args->positional[0].substr(0, at));
  request.set_version(version);
  request.set_include_open_window(args->options.count("open") > 0);
  mv1::DriftReport report;
  auto context = ctx.NewContext();
  const grpc::Status status =
      mv1::MonitoringService::NewStub(ctx.Channel("monitoring"))->GetDriftReport(context.get(), request, &report);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "drift");
  if (ctx.json()) {
    PrintJson(report);
    return kExitOk;
  }
  std::cout << report.model() << "@" << report.version() << ": window "
            << FormatMicros(report.window_start_micros()) << " .. "
            << FormatMicros(report.window_end_micros()) << ", " << report.current_row_count()
            << " rows vs " << report.reference_row_count() << " reference rows; "
            << report.drifted_count() << " of " << report.computed_count() << " features drifted"
            << (report.dataset_drift() ? " (DATASET DRIFT)" : "") << "\n";
  Table table({"FEATURE", "TEST", "STATISTIC", "P-VALUE", "THRESHOLD", "DRIFT", "REFERENCE", "CURRENT"});
  std::vector<mv1::FeatureDrift> rows(report.features().begin(), report.features().end());
  if (report.has_prediction()) rows.push_back(report.prediction());
  for (const mv1::FeatureDrift& f : rows) {
    table.AddRow({f.feature().empty() ? "(prediction)" : f.feature(), TestName(f.test()),
                  FormatNumber(f.statistic()), f.has_p_value() ? FormatNumber(f.p_value()) : "-",
                  FormatNumber(f.threshold()), f.drifted() ? "YES" : "no",
                  Sparkline(f.reference_histogram()), Sparkline(f.current_histogram())});
  }
  table.Print(std::cout);
  return kExitOk;
}

}  // namespace

void AddMonitoringCommands(std::vector<Command>& commands) {
  commands.push_back({"drift", "drift MODEL@VERSION [--open]",
                      "drift of the latest closed (or open) window vs the reference", Drift});
}

}  // namespace mlops::cli
