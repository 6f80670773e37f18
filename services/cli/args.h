#pragma once
// Command arguments after the command name: `--key=value` / `--flag` options
// and positional words. Pure functions.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"

namespace mlops::cli {

struct CommandArgs {
  std::map<std::string, std::string> options;  // "--wait=60s" -> {"wait","60s"}; "--all" -> {"all",""}
  std::vector<std::string> positional;
};

// Rejects options not in `allowed`, naming them. Options listed in
// `takes_value` also accept the value as the next word (`--steps 5,25,100`);
// given without one, they are an error naming the option.
absl::StatusOr<CommandArgs> ParseCommandArgs(const std::vector<std::string>& args,
                                             const std::vector<std::string>& allowed,
                                             const std::vector<std::string>& takes_value = {});

// The option's value, or `fallback` when absent.
std::string OptionOr(const CommandArgs& args, const std::string& name, const std::string& fallback);

// A positive integer option ("--batch=500"), with the option's name in errors.
absl::StatusOr<int64_t> PositiveIntOption(const CommandArgs& args, const std::string& name,
                                          int64_t fallback);

// "60s", "500ms", "2m" (absl::ParseDuration), with the option's name in errors.
absl::StatusOr<absl::Duration> DurationOption(const CommandArgs& args, const std::string& name,
                                              absl::Duration fallback);

// An enum option given by its lower-case suffix ("--state firing" ->
// ALERT_STATE_FIRING with prefix "ALERT_STATE_"); *_UNSPECIFIED is refused
// and the error lists the accepted words.
absl::StatusOr<int> EnumOption(const CommandArgs& args, const std::string& name, const std::string& prefix,
                               const google::protobuf::EnumDescriptor* descriptor);

}  // namespace mlops::cli
