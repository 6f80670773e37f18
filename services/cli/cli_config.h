#pragma once
// Where mlopsctl finds the services and its token: flags, then environment,
// then a config file (key=value lines, as written by scripts/run-local.sh).
// Plain data and pure functions; thread-compatible.

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace mlops::cli {

struct CliConfig {
  // Service name ("ingestion", ...) -> host:port.
  std::map<std::string, std::string> addresses;
  std::string token;  // bearer token, may be empty (auth disabled servers)
  int timeout_ms = 10000;
  bool json = false;
};

// Parses key=value lines ('#' comments, blank lines). Keys: token, token_file,
// <service>_addr, timeout_ms. Errors name the line.
absl::StatusOr<std::map<std::string, std::string>> ParseConfigFile(const std::string& text,
                                                                   const std::string& source);

// Applies one layer of settings (a config file's or the environment's) over
// `config`; token_file is read here. Unknown keys are errors.
absl::Status ApplySettings(const std::map<std::string, std::string>& settings, CliConfig& config);

// The six services in the order the CLI lists them, with their local defaults.
const std::map<std::string, std::string>& DefaultAddresses();

}  // namespace mlops::cli
