// `mlopsctl status`: the health of the six services.
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/peers/health_check.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/table.h"

namespace mlops::cli {
namespace {

std::string HealthName(const absl::StatusOr<HealthStatus>& health) {
  if (!health.ok()) {
    return health.status().code() == absl::StatusCode::kDeadlineExceeded ||
                   health.status().code() == absl::StatusCode::kUnavailable
               ? "UNREACHABLE"
               : absl::StatusCodeToString(health.status().code());
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*health);
}

int Status(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"wait"});
  if (!args.ok()) return UsageError(args.status(), "status");
  auto wait = DurationOption(*args, "wait", absl::ZeroDuration());
  if (!wait.ok()) return UsageError(wait.status(), "status");

  const absl::Time deadline = absl::Now() + *wait;
  std::map<std::string, absl::StatusOr<HealthStatus>> health;
  bool all_serving = false;
  while (true) {
    all_serving = true;
    for (const auto& [name, unused] : DefaultAddresses()) {
      health.insert_or_assign(name, CheckHealth(ctx.Channel(name), "", absl::Seconds(1)));
      const auto& h = health.at(name);
      all_serving &= h.ok() && *h == grpc::health::v1::HealthCheckResponse::SERVING;
    }
    if (all_serving || absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(200));
  }

  if (ctx.json()) {
    std::cout << "{\"services\":[";
    bool first = true;
    for (const auto& [name, h] : health) {
      std::cout << (first ? "" : ",") << "{\"name\":" << JsonString(name)
                << ",\"address\":" << JsonString(ctx.Address(name))
                << ",\"status\":" << JsonString(HealthName(h)) << "}";
      first = false;
    }
    std::cout << "],\"all_serving\":" << (all_serving ? "true" : "false") << "}\n";
  } else {
    Table table({"SERVICE", "ADDRESS", "HEALTH"});
    for (const auto& [name, h] : health) table.AddRow({name, ctx.Address(name), HealthName(h)});
    table.Print(std::cout);
  }
  return all_serving ? kExitOk : kExitUnavailable;
}

}  // namespace

void AddStatusCommands(std::vector<Command>& commands) {
  commands.push_back({"status", "status [--wait=60s]",
                      "health of the six services; exit 3 unless all are SERVING", Status});
}

}  // namespace mlops::cli
