#pragma once
// Runs mlopsctl as a child process and returns its exit code and its output
// (stdout and stderr together), for integration tests.

#include <string>
#include <utility>
#include <vector>

#include "common/testing/process.h"

namespace mlops::testing_platform {

struct CliResult {
  int exit_code = -1;
  std::string output;
};

inline CliResult RunCli(const std::string& cli_path, std::vector<std::string> args,
                        absl::Duration timeout = absl::Seconds(60)) {
  auto child = ChildProcess::Start(cli_path, std::move(args));
  if (!child.ok()) return {-1, std::string(child.status().message())};
  absl::StatusOr<int> code = (*child)->Wait(timeout);
  return {code.ok() ? *code : -1, (*child)->ReadLog()};
}

}  // namespace mlops::testing_platform
