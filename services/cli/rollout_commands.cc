// `mlopsctl rollout set ENDPOINT --candidate V --strategy canary --steps
// 5,25,50,100 --window 30s`: a rollout by hand through the gateway.
// (`rollout show|rollback` live in serving_commands.cc.)
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/grpc_status.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/rollout_spec.h"

namespace mlops::cli {

namespace rv1 = ::mlops::registry::v1;
namespace inv1 = ::mlops::inference::v1;

std::vector<std::string> RolloutSpecOptions() {
  return {"strategy",      "steps",          "window",  "min_requests", "mirror",
          "min_agreement", "promote",        "percent", "keep_previous", "max_error_rate",
          "max_p99",       "max_shift",      "no_auto_rollback"};
}

namespace {

absl::StatusOr<double> DoubleOption(const CommandArgs& args, const std::string& name, double fallback) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return fallback;
  double value = 0;
  if (!absl::SimpleAtod(it->second, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": expected a number, got \"", it->second, "\""));
  }
  return value;
}

absl::StatusOr<int64_t> Micros(const CommandArgs& args, const std::string& name, absl::Duration fallback) {
  auto duration = DurationOption(args, name, fallback);
  if (!duration.ok()) return duration.status();
  return absl::ToInt64Microseconds(*duration);
}

}  // namespace

absl::StatusOr<rv1::RolloutSpec> RolloutSpecFromArgs(const CommandArgs& args) {
  rv1::RolloutSpec spec;
  const std::string strategy = absl::AsciiStrToLower(OptionOr(args, "strategy", ""));
  auto window = Micros(args, "window", absl::ZeroDuration());
  if (!window.ok()) return window.status();
  auto min_requests = PositiveIntOption(args, "min_requests", 0);
  if (!min_requests.ok()) return min_requests.status();
  auto need_window = [&]() -> absl::Status {
    if (*window > 0) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("--window is required for ", strategy, " (e.g. --window 30s)"));
  };
  if (strategy == "canary") {
    spec.set_strategy(rv1::ROLLOUT_STRATEGY_CANARY);
    if (!args.options.count("steps")) {
      return absl::InvalidArgumentError("--steps is required for canary (e.g. --steps 5,25,50,100)");
    }
    if (absl::Status s = need_window(); !s.ok()) return s;
    for (absl::string_view part : absl::StrSplit(args.options.at("steps"), ',', absl::SkipEmpty())) {
      double percent = 0;
      if (!absl::SimpleAtod(part, &percent)) {
        return absl::InvalidArgumentError(absl::StrCat("--steps: \"", std::string(part), "\" is not a percent"));
      }
      rv1::CanaryStep* step = spec.mutable_canary()->add_steps();
      step->set_percent(percent);
      step->set_analysis_window_micros(*window);
      step->set_min_requests(*min_requests);
    }
  } else if (strategy == "shadow") {
    spec.set_strategy(rv1::ROLLOUT_STRATEGY_SHADOW);
    if (absl::Status s = need_window(); !s.ok()) return s;
    auto mirror = DoubleOption(args, "mirror", 100);
    auto agreement = DoubleOption(args, "min_agreement", 0);
    if (!mirror.ok()) return mirror.status();
    if (!agreement.ok()) return agreement.status();
    spec.mutable_shadow()->set_mirror_percent(*mirror);
    spec.mutable_shadow()->set_analysis_window_micros(*window);
    spec.mutable_shadow()->set_min_agreement_rate(*agreement);
    spec.mutable_shadow()->set_promote_on_success(args.options.count("promote") > 0);
  } else if (strategy == "ab") {
    spec.set_strategy(rv1::ROLLOUT_STRATEGY_AB);
    if (absl::Status s = need_window(); !s.ok()) return s;
    if (!args.options.count("percent")) return absl::InvalidArgumentError("--percent is required for ab (e.g. --percent 50)");
    auto percent = DoubleOption(args, "percent", 0);
    if (!percent.ok()) return percent.status();
    spec.mutable_ab()->set_candidate_percent(*percent);
    spec.mutable_ab()->set_analysis_window_micros(*window);
    spec.mutable_ab()->set_min_requests(*min_requests);
  } else if (strategy == "blue_green") {
    spec.set_strategy(rv1::ROLLOUT_STRATEGY_BLUE_GREEN);
    auto keep = Micros(args, "keep_previous", absl::ZeroDuration());
    if (!keep.ok()) return keep.status();
    spec.mutable_blue_green()->set_analysis_window_micros(*window);
    spec.mutable_blue_green()->set_keep_previous_micros(*keep);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--strategy must be canary, shadow, ab or blue_green",
                                                   strategy.empty() ? "" : ", not \"" + strategy + "\""));
  }
  auto error_rate = DoubleOption(args, "max_error_rate", 0);
  auto shift = DoubleOption(args, "max_shift", 0);
  auto p99 = Micros(args, "max_p99", absl::ZeroDuration());
  if (!error_rate.ok()) return error_rate.status();
  if (!shift.ok()) return shift.status();
  if (!p99.ok()) return p99.status();
  spec.mutable_thresholds()->set_max_error_rate(*error_rate);
  spec.mutable_thresholds()->set_max_prediction_shift(*shift);
  spec.mutable_thresholds()->set_max_p99_latency_micros(*p99);
  spec.mutable_thresholds()->set_min_requests(*min_requests);
  spec.set_disable_auto_rollback(args.options.count("no_auto_rollback") > 0);
  return spec;
}

namespace {

int RolloutSet(CliContext& ctx, const std::vector<std::string>& raw_args) {
  std::vector<std::string> allowed = RolloutSpecOptions();
  std::vector<std::string> valued;
  for (const std::string& o : allowed) {
    if (o != "promote" && o != "no_auto_rollback") valued.push_back(o);
  }
  for (const char* o : {"candidate", "primary", "reason", "spec"}) {
    allowed.push_back(o);
    valued.push_back(o);
  }
  allowed.push_back("replace");
  auto args = ParseCommandArgs(raw_args, allowed, valued);
  if (!args.ok()) return UsageError(args.status(), "rollout set");
  if (args->positional.size() != 1 || !args->options.count("candidate")) {
    return UsageError(absl::InvalidArgumentError(
                          "give ENDPOINT and --candidate VERSION (canary, ab and blue_green need the "
                          "model's production version: see `mlopsctl models show MODEL`)"),
                      "rollout set");
  }
  inv1::SetRolloutRequest request;
  request.set_endpoint(args->positional[0]);
  auto candidate = PositiveIntOption(*args, "candidate", 0);
  auto primary = args->options.count("primary") ? PositiveIntOption(*args, "primary", 0) : int64_t{0};
  if (!candidate.ok()) return UsageError(candidate.status(), "rollout set");
  if (!primary.ok()) return UsageError(primary.status(), "rollout set");
  request.set_candidate_version(*candidate);
  request.set_primary_version(*primary);
  if (args->options.count("spec")) {
    if (args->options.count("strategy")) {
      return UsageError(absl::InvalidArgumentError("give either --spec FILE.json or --strategy, not both"),
                        "rollout set");
    }
    if (absl::Status s = ReadJsonFile(args->options.at("spec"), request.mutable_spec()); !s.ok()) {
      return UsageError(s, "rollout set");
    }
  } else {
    auto spec = RolloutSpecFromArgs(*args);
    if (!spec.ok()) return UsageError(spec.status(), "rollout set");
    *request.mutable_spec() = *std::move(spec);
  }
  request.set_reason(OptionOr(*args, "reason", "mlopsctl rollout set"));
  request.set_replace_active(args->options.count("replace") > 0);
  inv1::Rollout rollout;
  auto context = ctx.NewContext(std::chrono::seconds(60));  // the gateway loads the candidate
  const grpc::Status status = inv1::InferenceService::NewStub(ctx.Channel("gateway"))
                                  ->SetRollout(context.get(), request, &rollout);
  if (!status.ok()) {
    const int code = ReportError(FromGrpcStatus(status), "rollout set");
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        status.error_message().find("in progress") != std::string::npos) {
      std::cerr << "hint: a rollout in progress is replaced only with --replace; "
                   "`mlopsctl rollout show " << request.endpoint() << "` shows it\n";
    }
    return code;
  }
  if (ctx.json()) {
    PrintJson(rollout);
    return kExitOk;
  }
  std::cout << "rollout on " << rollout.endpoint() << ": "
            << EnumText(rv1::RolloutStrategy_Name(rollout.spec().strategy()), "ROLLOUT_STRATEGY_") << " v"
            << rollout.primary_version() << " -> v" << rollout.candidate_version() << ", "
            << EnumText(rv1::RolloutState_Name(rollout.state()), "ROLLOUT_STATE_")
            << "\nfollow it: mlopsctl rollout show " << rollout.endpoint() << "\n";
  return kExitOk;
}

}  // namespace

void AddRolloutCommands(std::vector<Command>& commands) {
  commands.push_back({"rollout set",
                      "rollout set ENDPOINT --candidate V --strategy canary --steps 5,25,50,100 --window 30s",
                      "start a rollout by hand (canary, shadow, ab, blue_green; or --spec FILE.json)",
                      RolloutSet});
}

}  // namespace mlops::cli
