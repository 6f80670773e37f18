#pragma once
// Flags with environment fallbacks: every flag of ours, `--foo_bar`, may also
// be set by the environment variable `MLOPS_FOO_BAR`. Precedence, highest
// first: command line, environment, the flag's default. An environment
// variable that is set but empty counts as unset.
//
// Only main() calls ParseFlagsWithEnv, once, before any thread starts; nothing
// below main reads flags or the environment (STYLE §4). Not thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace mlops {

inline constexpr std::string_view kEnvPrefix = "MLOPS_";

// "grpc_port" -> "MLOPS_GRPC_PORT" (prefix + the name upper-cased).
std::string EnvVarForFlag(std::string_view flag_name, std::string_view env_prefix = kEnvPrefix);

// "--grpc_port (env MLOPS_GRPC_PORT)": how error messages name a setting.
std::string FlagAndEnv(std::string_view flag_name, std::string_view env_prefix = kEnvPrefix);

// Sets every flag defined in our code (Abseil's own flags such as --flagfile
// are skipped) whose environment variable is set. Stops at nothing: returns
// InvalidArgument listing every variable whose value does not parse, e.g.
//   MLOPS_GRPC_PORT="abc": not a valid value for --grpc_port: Illegal value ...
// Flags whose variable parsed are set even when others failed.
absl::Status ApplyEnvToFlags(std::string_view env_prefix = kEnvPrefix);

// ApplyEnvToFlags, then absl::ParseCommandLine (so flags override env).
// Returns the positional arguments (argv[0] first), like ParseCommandLine.
// Also makes --help list every flag of ours (not only main.cc's); main may
// call absl::SetProgramUsageMessage first for a usage line.
// On a bad environment value prints the message to stderr and exits 1; on an
// unknown flag or a bad flag value, Abseil prints
//   ERROR: Unknown command line flag 'foo'
// and exits 1.
std::vector<char*> ParseFlagsWithEnv(int argc, char** argv,
                                     std::string_view env_prefix = kEnvPrefix);

}  // namespace mlops
