#pragma once
// Command arguments after the command name: `--key=value` / `--flag` options
// and positional words. Pure functions.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mlops::cli {

struct CommandArgs {
  std::map<std::string, std::string> options;  // "--wait=60s" -> {"wait","60s"}; "--all" -> {"all",""}
  std::vector<std::string> positional;
};

// Rejects options not in `allowed`, naming them.
absl::StatusOr<CommandArgs> ParseCommandArgs(const std::vector<std::string>& args,
                                             const std::vector<std::string>& allowed);

// "60s", "500ms", "2m" (absl::ParseDuration), with the option's name in errors.
absl::StatusOr<absl::Duration> DurationOption(const CommandArgs& args, const std::string& name,
                                              absl::Duration fallback);

}  // namespace mlops::cli
