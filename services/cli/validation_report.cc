#include "services/cli/validation_report.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/cli/output.h"
#include "services/cli/table.h"
#include "services/ingestion/proto_convert.h"

namespace mlops::cli {
namespace {

namespace iv1 = ::mlops::ingestion::v1;

constexpr int kExamplesShown = 3;

// "between", "not_null", ...: the name of the expectation's kind.
std::string KindName(const iv1::Expectation& expectation) {
  const auto* oneof = expectation.GetDescriptor()->FindOneofByName("kind");
  const auto* field = expectation.GetReflection()->GetOneofFieldDescriptor(expectation, oneof);
  return field == nullptr ? "?" : field->name();
}

std::string Examples(const iv1::ExpectationResult& result) {
  std::vector<std::string> shown;
  for (const iv1::FailingExample& example : result.examples()) {
    if (static_cast<int>(shown.size()) == kExamplesShown) break;
    // The ingestion service sends examples already rendered (strings quoted).
    const std::string value =
        example.value().has_string_value()
            ? example.value().string_value()
            : ingestion::ValueToString(ingestion::ValueFromProto(example.value()), 24);
    shown.push_back(absl::StrCat("row ", example.row_index(), ": ", value));
  }
  std::string text = absl::StrJoin(shown, ", ");
  if (result.examples_size() > kExamplesShown) absl::StrAppend(&text, ", ...");
  return text.empty() ? OrDash(result.detail()) : text;
}

}  // namespace

void PrintValidationReport(const iv1::ValidationReport& report, std::ostream& out) {
  out << (report.passed() ? "PASSED" : "REJECTED") << ": " << report.error_count()
      << " error(s), " << report.warning_count() << " warning(s) on " << report.row_count()
      << " rows of dataset \"" << report.dataset() << "\" (expectation suite v"
      << report.suite_version() << ")\n";
  if (report.results().empty()) return;
  Table table({"#", "EXPECTATION", "KIND", "COLUMN", "SEVERITY", "RESULT", "FAILING", "FRACTION",
               "EXAMPLES"});
  for (const iv1::ExpectationResult& result : report.results()) {
    const iv1::Expectation& expectation = result.expectation();
    table.AddRow({absl::StrCat(result.expectation_index()), OrDash(expectation.name()),
                  KindName(expectation), OrDash(expectation.column()),
                  expectation.severity() == iv1::SEVERITY_WARN ? "warn" : "error",
                  result.passed() ? "ok" : "FAIL", absl::StrCat(result.failing_count()),
                  absl::StrFormat("%.2f%%", 100 * result.failing_fraction()),
                  result.passed() ? "" : Examples(result)});
  }
  table.Print(out);
}

}  // namespace mlops::cli
