#include "services/cli/cli_config.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config/file_util.h"

namespace mlops::cli {
namespace {

std::string Trim(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())));
}

}  // namespace

const std::map<std::string, std::string>& DefaultAddresses() {
  static const auto* kDefaults = new std::map<std::string, std::string>{
      {"ingestion", "127.0.0.1:50051"}, {"features", "127.0.0.1:50052"},
      {"training", "127.0.0.1:50053"},  {"registry", "127.0.0.1:50054"},
      {"gateway", "127.0.0.1:50055"},   {"monitoring", "127.0.0.1:50056"}};
  return *kDefaults;
}

absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(const std::string& text,
                                                                   const std::string& source) {
  std::map<std::string, std::string> settings;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    const std::string line = Trim(std::string_view(raw.data(), raw.size()));
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", line_number, ": expected key=value"));
    }
    settings[Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return settings;
}

absl::Status ApplySettings(const std::map<std::string, std::string>& settings, CliConfig& config) {
  for (const auto& [key, value] : settings) {
    if (key == "token") {
      config.token = value;
    } else if (key == "token_file") {
      auto text = ReadFileToString(value);
      if (!text.ok()) {
        return absl::Status(text.status().code(),
                            absl::StrCat("token_file ", value, ": ", text.status().message()));
      }
      config.token = Trim(text->substr(0, text->find('\n')));
    } else if (key == "timeout_ms") {
      if (!absl::SimpleAtoi(value, &config.timeout_ms) || config.timeout_ms <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("timeout_ms: expected a positive integer, got \"", value, "\""));
      }
    } else if (absl::EndsWith(key, "_addr") &&
               DefaultAddresses().count(key.substr(0, key.size() - 5)) > 0) {
      config.addresses[key.substr(0, key.size() - 5)] = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown setting \"", key, "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace mlops::cli
