// mlopsctl: the command line for people over the six services.
//   mlopsctl [global flags] <command> [args]     mlopsctl help
#include <cstdio>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config/file_util.h"
#include "services/cli/cli_config.h"
#include "services/cli/cli_context.h"

ABSL_FLAG(std::string, config, "",
          "config file of key=value lines (default: $MLOPSCTL_CONFIG, written by "
          "scripts/run-local.sh as .run/mlopsctl.conf)");
ABSL_FLAG(std::string, token, "", "bearer token (default: $MLOPS_TOKEN, or the config file)");
ABSL_FLAG(std::string, token_file, "", "file whose first line is the bearer token");
ABSL_FLAG(bool, json, false, "print JSON instead of tables");
ABSL_FLAG(int, timeout_ms, 0, "deadline of each call (default 10000)");
ABSL_FLAG(std::string, ingestion_addr, "", "host:port of the ingestion service");
ABSL_FLAG(std::string, features_addr, "", "host:port of the feature service");
ABSL_FLAG(std::string, training_addr, "", "host:port of the training service");
ABSL_FLAG(std::string, registry_addr, "", "host:port of the registry service");
ABSL_FLAG(std::string, gateway_addr, "", "host:port of the inference gateway");
ABSL_FLAG(std::string, monitoring_addr, "", "host:port of the monitoring service");

namespace mlops::cli {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> commands;
  AddStatusCommands(commands);
  AddDatasetCommands(commands);
  AddDatasetIngestCommands(commands);
  AddRegistryCommands(commands);
  AddModelCommands(commands);
  AddMonitoringCommands(commands);
  AddServingCommands(commands);
  AddFeatureCommands(commands);
  AddTrainingCommands(commands);
  AddRolloutCommands(commands);
  AddAlertCommands(commands);
  AddBatchCommands(commands);
  return commands;
}

void PrintHelp(const std::vector<Command>& commands) {
  std::cout << "mlopsctl: the MLOps platform from the command line\n\n"
               "usage: mlopsctl [--json] [--token=T] [--<service>_addr=H:P] <command> [args]\n       (global flags go before the command, as --flag=value)\n\n"
               "commands:\n";
  for (const Command& c : commands) {
    if (c.usage.size() > 44) {  // long usages get their own line
      std::printf("  %s\n  %-44s %s\n", c.usage.c_str(), "", c.summary.c_str());
    } else {
      std::printf("  %-44s %s\n", c.usage.c_str(), c.summary.c_str());
    }
  }
  std::cout << "\nsettings come from flags, then MLOPS_TOKEN / MLOPS_<SERVICE>_ADDR, then the\n"
               "config file (--config or $MLOPSCTL_CONFIG).\n"
               "exit codes: 0 ok, 1 failed, 2 usage, 3 unavailable, 4 not found,\n"
               "            5 rejected input, 6 not authenticated / not allowed\n";
}

absl::StatusOr<CliConfig> ResolveConfig() {
  CliConfig config;
  std::string path = absl::GetFlag(FLAGS_config);
  if (path.empty() && std::getenv("MLOPSCTL_CONFIG") != nullptr) path = std::getenv("MLOPSCTL_CONFIG");
  if (!path.empty()) {
    auto text = ReadFileToString(path);
    if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("config ", path, ": ", text.status().message()));
    auto settings = ParseConfigFile(*text, path);
    if (!settings.ok()) return settings.status();
    auto applied = ApplySettings(*settings, config);
    if (!applied.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", applied.message()));
  }
  std::map<std::string, std::string> layer;
  for (const auto& [name, unused] : DefaultAddresses()) {
    std::string env_name = "MLOPS_" + name + "_ADDR";
    for (char& c : env_name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (const char* v = std::getenv(env_name.c_str()); v != nullptr && *v) layer[name + "_addr"] = v;
  }
  if (const char* v = std::getenv("MLOPS_TOKEN"); v != nullptr && *v) layer["token"] = v;
  const std::pair<const char*, std::string> flag_addrs[] = {
      {"ingestion_addr", absl::GetFlag(FLAGS_ingestion_addr)},
      {"features_addr", absl::GetFlag(FLAGS_features_addr)},
      {"training_addr", absl::GetFlag(FLAGS_training_addr)},
      {"registry_addr", absl::GetFlag(FLAGS_registry_addr)},
      {"gateway_addr", absl::GetFlag(FLAGS_gateway_addr)},
      {"monitoring_addr", absl::GetFlag(FLAGS_monitoring_addr)}};
  for (const auto& [key, value] : flag_addrs) {
    if (!value.empty()) layer[key] = value;
  }
  if (!absl::GetFlag(FLAGS_token_file).empty()) layer["token_file"] = absl::GetFlag(FLAGS_token_file);
  if (!absl::GetFlag(FLAGS_token).empty()) layer["token"] = absl::GetFlag(FLAGS_token);
  if (absl::GetFlag(FLAGS_timeout_ms) > 0) layer["timeout_ms"] = std::to_string(absl::GetFlag(FLAGS_timeout_ms));
  if (auto applied = ApplySettings(layer, config); !applied.ok()) return applied;
  config.json = absl::GetFlag(FLAGS_json);
  return config;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage("mlopsctl [global flags] <command> [args]; `mlopsctl help`");
  // Global flags come before the command (use --flag=value); everything from
  // the first word on belongs to the command and its own options.
  int command_start = 1;
  while (command_start < argc && argv[command_start][0] == '-' &&
         std::string_view(argv[command_start]) != "--") {
    ++command_start;
  }
  absl::ParseCommandLine(command_start, argv);
  if (command_start < argc && std::string_view(argv[command_start]) == "--") ++command_start;
  const std::vector<Command> commands = AllCommands();
  std::vector<std::string> words(argv + command_start, argv + argc);
  if (words.empty() || words[0] == "help") {
    PrintHelp(commands);
    return words.empty() ? kExitUsage : kExitOk;
  }
  // Longest command name that prefixes the words ("datasets list" before "datasets").
  const Command* match = nullptr;
  size_t match_words = 0;
  for (const Command& c : commands) {
    std::vector<std::string> name_words = absl::StrSplit(c.name, ' ');
    if (name_words.size() > words.size() || name_words.size() <= match_words) continue;
    if (std::equal(name_words.begin(), name_words.end(), words.begin())) {
      match = &c;
      match_words = name_words.size();
    }
  }
  if (match == nullptr) {
    std::fprintf(stderr, "error: unknown command \"%s\"; run `mlopsctl help`\n",
                 absl::StrJoin(words, " ").c_str());
    return kExitUsage;
  }
  absl::StatusOr<CliConfig> config = ResolveConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return kExitUsage;
  }
  CliContext ctx(*std::move(config));
  return match->run(ctx, std::vector<std::string>(words.begin() + match_words, words.end()));
}

}  // namespace
}  // namespace mlops::cli

int main(int argc, char** argv) { return mlops::cli::Main(argc, argv); }
