#include "services/cli/args.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mlops::cli {

absl::StatusOr<CommandArgs> ParseCommandArgs(const std::vector<std::string>& args,
                                             const std::vector<std::string>& allowed) {
  CommandArgs parsed;
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) {
      parsed.positional.push_back(arg);
      continue;
    }
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown option --", key,
          allowed.empty() ? " (this command takes none)"
                          : absl::StrCat(" (options: --", absl::StrJoin(allowed, ", --"), ")")));
    }
    parsed.options[key] = eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  return parsed;
}

absl::StatusOr<absl::Duration> DurationOption(const CommandArgs& args, const std::string& name,
                                              absl::Duration fallback) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return fallback;
  absl::Duration duration;
  if (!absl::ParseDuration(it->second, &duration) || duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": expected a duration such as 30s or 2m, got \"", it->second,
                     "\""));
  }
  return duration;
}

}  // namespace mlops::cli
