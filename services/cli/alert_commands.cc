// `mlopsctl alerts list|show` and `monitoring policy set|list`: what
// monitoring fired, and the rules that make it fire.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "services/cli/alert_format.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/table.h"

namespace mlops::cli {

namespace mv1 = ::mlops::monitoring::v1;

namespace {

std::string ComparisonText(mv1::Comparison c) {
  switch (c) {
    case mv1::COMPARISON_GREATER_OR_EQUAL: return ">=";
    case mv1::COMPARISON_LESS_OR_EQUAL: return "<=";
    case mv1::COMPARISON_GREATER: return ">";
    case mv1::COMPARISON_LESS: return "<";
    default: return "";
  }
}

std::string MetricText(mv1::AlertMetric metric, const std::string& feature) {
  const std::string name = EnumText(mv1::AlertMetric_Name(metric), "ALERT_METRIC_");
  return feature.empty() ? name : absl::StrCat(name, "(", feature, ")");
}

std::string ActionText(const mv1::AlertAction& a) {
  if (a.has_webhook()) return "webhook " + a.webhook().url();
  if (a.has_retrain()) return "retrain " + a.retrain().trigger_id();
  if (a.has_rollback()) return "rollback " + a.rollback().endpoint();
  return "?";
}

std::string Condition(mv1::AlertMetric metric, const std::string& feature, mv1::Comparison comparison,
                      double threshold) {
  if (comparison == mv1::COMPARISON_UNSPECIFIED) return MetricText(metric, feature) + " drifted";
  return absl::StrCat(MetricText(metric, feature), " ", ComparisonText(comparison), " ",
                      FormatNumber(threshold));
}

}  // namespace

std::string PolicyCondition(const mv1::AlertPolicy& p) {
  return Condition(p.metric(), p.feature(), p.comparison(), p.threshold());
}

void PrintAlerts(const mv1::ListAlertsResponse& alerts, std::ostream& out) {
  Table table({"ALERT", "MODEL", "POLICY", "SEVERITY", "STATE", "VALUE", "SINCE", "FIRED", "SUMMARY"});
  for (const mv1::Alert& a : alerts.alerts()) {
    table.AddRow({a.id(), absl::StrCat(a.model(), "@", a.version()), a.policy(),
                  EnumText(mv1::Severity_Name(a.severity()), "SEVERITY_"),
                  EnumText(mv1::AlertState_Name(a.state()), "ALERT_STATE_"), FormatNumber(a.value()),
                  FormatMicros(a.pending_since_micros()), FormatMicros(a.fired_at_micros()), OrDash(a.summary())});
  }
  table.Print(out);
}

void PrintAlert(const mv1::Alert& a, std::ostream& out) {
  out << a.id() << ": " << OrDash(a.summary()) << "\n";
  Table fields({"FIELD", "VALUE"});
  fields.AddRow({"model", absl::StrCat(a.model(), "@", a.version())});
  fields.AddRow({"policy", a.policy()});
  fields.AddRow({"condition", Condition(a.metric(), a.feature(), a.comparison(), a.threshold())});
  fields.AddRow({"value", FormatNumber(a.value())});
  fields.AddRow({"window", absl::StrCat(FormatMicros(a.window().start_micros()), " .. ",
                                        FormatMicros(a.window().end_micros()))});
  fields.AddRow({"severity", EnumText(mv1::Severity_Name(a.severity()), "SEVERITY_")});
  fields.AddRow({"state", EnumText(mv1::AlertState_Name(a.state()), "ALERT_STATE_")});
  fields.AddRow({"pending since", FormatMicros(a.pending_since_micros())});
  fields.AddRow({"fired", FormatMicros(a.fired_at_micros())});
  fields.AddRow({"resolved", FormatMicros(a.resolved_at_micros())});
  fields.Print(out);
  if (a.actions().empty()) return;
  out << "\n";
  Table actions({"ACTION", "TARGET", "STATUS", "ATTEMPTS", "RESULT", "ERROR", "FINISHED"});
  for (const mv1::ActionResult& r : a.actions()) {
    actions.AddRow({EnumText(mv1::ActionKind_Name(r.kind()), "ACTION_KIND_") + (r.on_resolve() ? " (resolve)" : ""),
                    OrDash(r.target()), EnumText(mv1::ActionStatus_Name(r.status()), "ACTION_STATUS_"),
                    absl::StrCat(r.attempts()), OrDash(r.result()), OrDash(r.last_error()),
                    FormatMicros(r.finished_at_micros())});
  }
  actions.Print(out);
}

void PrintAlertPolicies(const mv1::ListAlertPoliciesResponse& policies, std::ostream& out) {
  Table table({"MODEL", "POLICY", "VERSION", "CONDITION", "WINDOW", "FOR", "MIN SAMPLES", "SEVERITY", "ACTIONS",
               "ENABLED"});
  for (const mv1::AlertPolicy& p : policies.policies()) {
    std::vector<std::string> actions;
    for (const mv1::AlertAction& a : p.actions()) actions.push_back(ActionText(a));
    table.AddRow({p.model(), p.name(), p.version() > 0 ? absl::StrCat(p.version()) : "all", PolicyCondition(p),
                  FormatDurationMicros(p.window_micros()), FormatDurationMicros(p.for_micros()),
                  p.min_samples() > 0 ? absl::StrCat(p.min_samples()) : "100",
                  EnumText(mv1::Severity_Name(p.severity()), "SEVERITY_"),
                  actions.empty() ? "-" : absl::StrJoin(actions, ", "), p.disabled() ? "no" : "yes"});
  }
  table.Print(out);
}

namespace {

std::unique_ptr<mv1::MonitoringService::Stub> Stub(CliContext& ctx) {
  return mv1::MonitoringService::NewStub(ctx.Channel("monitoring"));
}

int AlertsList(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"model", "state", "severity", "limit"},
                               {"model", "state", "severity", "limit"});
  if (!args.ok()) return UsageError(args.status(), "alerts list");
  auto limit = PositiveIntOption(*args, "limit", 100);
  if (!limit.ok()) return UsageError(limit.status(), "alerts list");
  mv1::ListAlertsRequest request;
  const std::string model = OptionOr(*args, "model", "");
  const std::size_t at = model.find('@');
  request.set_model(model.substr(0, at));
  if (at != std::string::npos) {
    int64_t version = 0;
    if (!absl::SimpleAtoi(model.substr(at + 1), &version) || version <= 0) {
      return UsageError(absl::InvalidArgumentError("--model: give MODEL or MODEL@VERSION"), "alerts list");
    }
    request.set_version(version);
  }
  if (args->options.count("state")) {
    auto state = EnumOption(*args, "state", "ALERT_STATE_", mv1::AlertState_descriptor());
    if (!state.ok()) return UsageError(state.status(), "alerts list");
    request.add_states(static_cast<mv1::AlertState>(*state));
  }
  if (args->options.count("severity")) {
    auto severity = EnumOption(*args, "severity", "SEVERITY_", mv1::Severity_descriptor());
    if (!severity.ok()) return UsageError(severity.status(), "alerts list");
    request.set_min_severity(static_cast<mv1::Severity>(*severity));
  }
  request.mutable_page()->set_page_size(static_cast<int32_t>(std::min<int64_t>(*limit, 1000)));
  mv1::ListAlertsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListAlerts(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "alerts list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  PrintAlerts(response, std::cout);
  if (!response.next_page_token().empty()) std::cout << "(more; raise --limit or filter by --model/--state)\n";
  return kExitOk;
}

int AlertsShow(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give ALERT (e.g. alert-3; see `mlopsctl alerts list`)")
                                : args.status(),
                      "alerts show");
  }
  mv1::GetAlertRequest request;
  request.set_id(args->positional[0]);
  mv1::Alert alert;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetAlert(context.get(), request, &alert);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "alerts show");
  if (ctx.json()) {
    PrintJson(alert);
  } else {
    PrintAlert(alert, std::cout);
  }
  return kExitOk;
}

int PolicySet(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give one alert policy file (AlertPolicy in JSON)")
                                : args.status(),
                      "monitoring policy set");
  }
  mv1::SetAlertPolicyRequest request;
  if (absl::Status s = ReadJsonFile(args->positional[0], request.mutable_policy()); !s.ok()) {
    return UsageError(s, "monitoring policy set");
  }
  mv1::AlertPolicy policy;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->SetAlertPolicy(context.get(), request, &policy);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "monitoring policy set");
  if (ctx.json()) {
    PrintJson(policy);
  } else {
    std::cout << "alert policy " << policy.model() << "/" << policy.name() << " set: " << PolicyCondition(policy)
              << " -> " << EnumText(mv1::Severity_Name(policy.severity()), "SEVERITY_") << ", "
              << policy.actions_size() << " action(s)\n";
  }
  return kExitOk;
}

int PolicyList(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() > 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give MODEL (or nothing for every model)") : args.status(),
                      "monitoring policy list");
  }
  mv1::ListAlertPoliciesRequest request;
  if (!args->positional.empty()) request.set_model(args->positional[0]);
  request.mutable_page()->set_page_size(1000);
  mv1::ListAlertPoliciesResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListAlertPolicies(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "monitoring policy list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  PrintAlertPolicies(response, std::cout);
  return kExitOk;
}

}  // namespace

void AddAlertCommands(std::vector<Command>& commands) {
  commands.push_back({"alerts list", "alerts list [--model M[@V]] [--state firing] [--severity warning]",
                      "alerts, newest first", AlertsList});
  commands.push_back({"alerts show", "alerts show ALERT", "one alert with its condition and action results",
                      AlertsShow});
  commands.push_back({"monitoring policy set", "monitoring policy set FILE.json",
                      "create or replace an alert policy (AlertPolicy in JSON)", PolicySet});
  commands.push_back({"monitoring policy list", "monitoring policy list [MODEL]",
                      "alert policies: condition, window, severity, actions", PolicyList});
}

}  // namespace mlops::cli
