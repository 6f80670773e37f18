// `mlopsctl models show|card|promote|approve|reject|policy` and
// `mlopsctl endpoints set|list`: the registry's gate from the shell.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/grpc_status.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/table.h"

namespace mlops::cli {
namespace {

namespace rv1 = ::mlops::registry::v1;

std::unique_ptr<rv1::RegistryService::Stub> Stub(CliContext& ctx) {
  return rv1::RegistryService::NewStub(ctx.Channel("registry"));
}

std::string StageText(rv1::Stage stage) {
  std::string name = rv1::Stage_Name(stage);
  return absl::AsciiStrToLower(name.substr(std::string("STAGE_").size()));
}

// "fraud@3" -> (fraud, 3); "fraud" -> (fraud, 0).
absl::StatusOr<std::pair<std::string, int64_t>> ParseVersionRef(const std::string& text,
                                                                bool version_required) {
  const std::size_t at = text.find('@');
  int64_t version = 0;
  if (at == std::string::npos) {
    if (version_required) return absl::InvalidArgumentError("give MODEL@VERSION, e.g. fraud@3");
    return std::make_pair(text, int64_t{0});
  }
  if (!absl::SimpleAtoi(text.substr(at + 1), &version) || version <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\": the version must be a positive number"));
  }
  return std::make_pair(text.substr(0, at), version);
}

std::string TestMetrics(const rv1::ModelVersion& v) {
  for (const rv1::Evaluation& e : v.evaluations()) {
    if (e.name() != "test" && !e.name().empty()) continue;
    std::vector<std::string> parts;
    for (const auto& [name, value] : e.metrics()) parts.push_back(absl::StrCat(name, "=", FormatNumber(value)));
    std::sort(parts.begin(), parts.end());
    return absl::StrJoin(parts, " ");
  }
  return "-";
}

int Show(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give MODEL") : args.status(), "models show");
  }
  rv1::ListModelVersionsRequest request;
  request.set_model(args->positional[0]);
  request.mutable_page()->set_page_size(100);
  rv1::ListModelVersionsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListModelVersions(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models show");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"VERSION", "STAGE", "ALIASES", "TEST METRICS", "RUN", "CREATED", "BY"});
  for (const rv1::ModelVersion& v : response.versions()) {
    table.AddRow({absl::StrCat(v.version()), StageText(v.stage()),
                  v.aliases().empty() ? "-" : absl::StrJoin(v.aliases(), ","), TestMetrics(v),
                  OrDash(v.lineage().run_id()), FormatMicros(v.created_at_micros()),
                  OrDash(v.created_by())});
  }
  table.Print(std::cout);
  return kExitOk;
}

int Card(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give MODEL[@VERSION]") : args.status(),
                      "models card");
  }
  auto ref = ParseVersionRef(args->positional[0], false);
  if (!ref.ok()) return UsageError(ref.status(), "models card");
  rv1::ExportModelCardRequest request;
  request.set_model(ref->first);
  request.set_version(ref->second);
  rv1::ExportModelCardResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ExportModelCard(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models card");
  std::cout << (ctx.json() ? response.json() : response.markdown()) << "\n";
  return kExitOk;
}

void PrintChecks(const rv1::GateReport& report) {
  if (report.checks().empty()) return;
  Table table({"CHECK", "OUTCOME", "MEASURED", "LIMIT", "MESSAGE"});
  for (const rv1::CheckResult& c : report.checks()) {
    std::string outcome = rv1::CheckOutcome_Name(c.outcome());
    table.AddRow({c.name(), absl::AsciiStrToLower(outcome.substr(std::string("CHECK_OUTCOME_").size())),
                  FormatNumber(c.measured()), FormatNumber(c.limit()), OrDash(c.message())});
  }
  table.Print(std::cout);
}

void PrintTransition(const rv1::TransitionRequest& t) {
  switch (t.status()) {
    case rv1::TRANSITION_STATUS_GRANTED:
      std::cout << t.version().model() << "@" << t.version().version() << " is now "
                << StageText(t.target_stage()) << " (request " << t.id() << ")\n";
      break;
    case rv1::TRANSITION_STATUS_PENDING_APPROVAL:
      std::cout << "gate passed; waiting for approval: mlopsctl models approve " << t.id() << "\n";
      break;
    default:
      std::cout << "request " << t.id() << ": " << rv1::TransitionStatus_Name(t.status()) << "\n";
  }
  PrintChecks(t.gate_report());
}

int Promote(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"to", "reason", "dry_run"});
  if (!args.ok()) return UsageError(args.status(), "models promote");
  if (args->positional.size() != 1 || !args->options.count("to")) {
    return UsageError(absl::InvalidArgumentError(
                          "give MODEL@VERSION and --to=staging|production|archived|none"),
                      "models promote");
  }
  auto ref = ParseVersionRef(args->positional[0], true);
  if (!ref.ok()) return UsageError(ref.status(), "models promote");
  rv1::Stage stage;
  if (!rv1::Stage_Parse("STAGE_" + absl::AsciiStrToUpper(args->options.at("to")), &stage) ||
      stage == rv1::STAGE_UNSPECIFIED) {
    return UsageError(absl::InvalidArgumentError("--to must be staging, production, archived or none"),
                      "models promote");
  }
  rv1::RequestTransitionRequest request;
  request.mutable_version()->set_model(ref->first);
  request.mutable_version()->set_version(ref->second);
  request.set_target_stage(stage);
  request.set_reason(args->options.count("reason") ? args->options.at("reason") : "mlopsctl");
  request.set_dry_run(args->options.count("dry_run") > 0);
  rv1::TransitionRequest response;
  auto context = ctx.NewContext(std::chrono::milliseconds(120000));  // model tests may run
  const grpc::Status status = Stub(ctx)->RequestTransition(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models promote");
  if (ctx.json()) {
    PrintJson(response);
  } else {
    PrintTransition(response);
  }
  return kExitOk;
}

int Decide(CliContext& ctx, const std::vector<std::string>& raw_args, bool approve) {
  const std::string command = approve ? "models approve" : "models reject";
  auto args = ParseCommandArgs(raw_args, {"comment"});
  if (!args.ok()) return UsageError(args.status(), command);
  if (args->positional.size() != 1) {
    return UsageError(absl::InvalidArgumentError("give the transition request id"), command);
  }
  const std::string comment = args->options.count("comment") ? args->options.at("comment") : "";
  if (!approve && comment.empty()) {
    return UsageError(absl::InvalidArgumentError("--comment is required to reject"), command);
  }
  rv1::TransitionRequest response;
  auto context = ctx.NewContext(std::chrono::milliseconds(120000));
  grpc::Status status;
  if (approve) {
    rv1::ApproveRequest request;
    request.set_request_id(args->positional[0]);
    request.set_comment(comment);
    status = Stub(ctx)->Approve(context.get(), request, &response);
  } else {
    rv1::RejectRequest request;
    request.set_request_id(args->positional[0]);
    request.set_comment(comment);
    status = Stub(ctx)->Reject(context.get(), request, &response);
  }
  if (!status.ok()) return ReportError(FromGrpcStatus(status), command);
  if (ctx.json()) {
    PrintJson(response);
  } else {
    PrintTransition(response);
  }
  return kExitOk;
}

int PolicySet(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"file", "reason"});
  if (!args.ok()) return UsageError(args.status(), "models policy set");
  if (args->positional.size() != 1 || !args->options.count("file")) {
    return UsageError(absl::InvalidArgumentError("give MODEL and --file=policy.json (a GatePolicy)"),
                      "models policy set");
  }
  rv1::SetGatePolicyRequest request;
  if (absl::Status s = ReadJsonFile(args->options.at("file"), request.mutable_policy()); !s.ok()) {
    return UsageError(s, "models policy set");
  }
  request.mutable_policy()->set_model(args->positional[0]);
  request.set_reason(args->options.count("reason") ? args->options.at("reason") : "mlopsctl");
  rv1::GatePolicy response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->SetGatePolicy(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models policy set");
  if (ctx.json()) {
    PrintJson(response);
  } else {
    std::cout << "gate policy of \"" << response.model() << "\" is now version "
              << response.policy_version() << "\n";
  }
  return kExitOk;
}

int PolicyShow(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give MODEL") : args.status(),
                      "models policy show");
  }
  rv1::GetGatePolicyRequest request;
  request.set_model(args->positional[0]);
  rv1::GatePolicy response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->GetGatePolicy(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models policy show");
  PrintJson(response);  // a policy is a document: JSON in both modes
  return kExitOk;
}

int EndpointSet(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"model", "rollout", "reason"});
  if (!args.ok()) return UsageError(args.status(), "endpoints set");
  if (args->positional.size() != 1 || !args->options.count("model")) {
    return UsageError(absl::InvalidArgumentError(
                          "give ENDPOINT and --model=M [--rollout=spec.json (a RolloutSpec)]"),
                      "endpoints set");
  }
  rv1::SetEndpointConfigRequest request;
  rv1::EndpointConfig* config = request.mutable_config();
  config->set_endpoint(args->positional[0]);
  config->set_model(args->options.at("model"));
  if (args->options.count("rollout")) {
    if (absl::Status s = ReadJsonFile(args->options.at("rollout"), config->mutable_promotion_rollout());
        !s.ok()) {
      return UsageError(s, "endpoints set");
    }
  }
  request.set_reason(args->options.count("reason") ? args->options.at("reason") : "mlopsctl");
  rv1::EndpointConfig response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->SetEndpointConfig(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "endpoints set");
  if (ctx.json()) {
    PrintJson(response);
  } else {
    std::cout << "endpoint \"" << response.endpoint() << "\" serves model \"" << response.model()
              << "\"; promotions roll out by "
              << rv1::RolloutStrategy_Name(response.promotion_rollout().strategy()) << "\n";
  }
  return kExitOk;
}

int EndpointList(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"model"});
  if (!args.ok()) return UsageError(args.status(), "endpoints list");
  rv1::ListEndpointConfigsRequest request;
  if (args->options.count("model")) request.set_model(args->options.at("model"));
  request.mutable_page()->set_page_size(1000);
  rv1::ListEndpointConfigsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = Stub(ctx)->ListEndpointConfigs(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "endpoints list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"ENDPOINT", "MODEL", "PROMOTION ROLLOUT", "UPDATED", "BY"});
  for (const rv1::EndpointConfig& e : response.configs()) {
    table.AddRow({e.endpoint(), e.model(), rv1::RolloutStrategy_Name(e.promotion_rollout().strategy()),
                  FormatMicros(e.updated_at_micros()), OrDash(e.updated_by())});
  }
  table.Print(std::cout);
  return kExitOk;
}

}  // namespace

void AddModelCommands(std::vector<Command>& commands) {
  commands.push_back({"models show", "models show MODEL", "a model's versions, stages and metrics", Show});
  commands.push_back({"models card", "models card MODEL[@VERSION]",
                      "the model card (Markdown; JSON with --json)", Card});
  commands.push_back({"models promote", "models promote MODEL@VERSION --to=STAGE [--dry_run]",
                      "request a stage change through the gate", Promote});
  commands.push_back({"models approve", "models approve REQUEST_ID [--comment=C]",
                      "approve a pending transition (not your own)",
                      [](CliContext& c, const std::vector<std::string>& a) { return Decide(c, a, true); }});
  commands.push_back({"models reject", "models reject REQUEST_ID --comment=C",
                      "reject a pending transition",
                      [](CliContext& c, const std::vector<std::string>& a) { return Decide(c, a, false); }});
  commands.push_back({"models policy set", "models policy set MODEL --file=policy.json",
                      "set the gate policy (GatePolicy in JSON)", PolicySet});
  commands.push_back({"models policy show", "models policy show MODEL", "the gate policy as JSON",
                      PolicyShow});
  commands.push_back({"endpoints set", "endpoints set NAME --model=M [--rollout=spec.json]",
                      "bind an endpoint to a model and its promotion rollout", EndpointSet});
  commands.push_back({"endpoints list", "endpoints list [--model=M]", "endpoints and their models",
                      EndpointList});
}

}  // namespace mlops::cli
