#include "common/config/env_flags.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace mlops {
namespace {

// Abseil's own flags (--flagfile, --fromenv, --undefok, ...) are defined in
// files under absl/; ours are not.
bool IsAbseilFile(absl::string_view file) {
  return absl::StartsWith(file, "absl/") || absl::StartsWith(file, "./absl/") ||
         absl::StrContains(file, "/absl/");
}

bool IsAbseilFlag(const absl::CommandLineFlag& flag) { return IsAbseilFile(flag.Filename()); }

// --help lists every flag of ours (by default Abseil lists only the flags of
// the file named like the program, which is none of ours).
void ShowOurFlagsInHelp() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) { return !IsAbseilFile(file); };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace

std::string EnvVarForFlag(std::string_view flag_name, std::string_view env_prefix) {
  std::string out(env_prefix);
  out.reserve(env_prefix.size() + flag_name.size());
  for (char c : flag_name) {
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::string FlagAndEnv(std::string_view flag_name, std::string_view env_prefix) {
  std::string out = "--";
  out.append(flag_name);
  out.append(" (env ");
  out.append(EnvVarForFlag(flag_name, env_prefix));
  out.append(")");
  return out;
}

absl::Status ApplyEnvToFlags(std::string_view env_prefix) {
  // Sorted by name so that the error list is stable.
  std::vector<std::pair<std::string, absl::CommandLineFlag*>> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->IsRetired() || IsAbseilFlag(*flag)) continue;
    flags.emplace_back(std::string(name.data(), name.size()), flag);
  }
  std::sort(flags.begin(), flags.end());

  std::vector<std::string> errors;
  for (const auto& [name, flag] : flags) {
    const std::string var = EnvVarForFlag(name, env_prefix);
    const char* value = std::getenv(var.c_str());
    if (value == nullptr || *value == '\0') continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      errors.push_back(var + "=\"" + value + "\": not a valid value for --" + name + ": " +
                       error);
    }
  }
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

std::vector<char*> ParseFlagsWithEnv(int argc, char** argv, std::string_view env_prefix) {
  const absl::Status env = ApplyEnvToFlags(env_prefix);
  if (!env.ok()) {
    std::fprintf(stderr, "ERROR: bad environment: %s\n", std::string(env.message()).c_str());
    std::exit(1);
  }
  ShowOurFlagsInHelp();
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace mlops
