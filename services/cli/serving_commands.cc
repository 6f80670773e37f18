// `mlopsctl features list|online`, `training jobs`, `rollout show|rollback`,
// `endpoints status` and `predict`: the feature service, training jobs and the
// gateway from the shell.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config/file_util.h"
#include "common/status/grpc_status.h"
#include "google/protobuf/util/json_util.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "mlops/training/v1/training.grpc.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/output.h"
#include "services/cli/predict_csv.h"
#include "services/cli/table.h"

namespace mlops::cli {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;
namespace tv1 = ::mlops::training::v1;
namespace inv1 = ::mlops::inference::v1;

int FeaturesList(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"prefix"});
  if (!args.ok()) return UsageError(args.status(), "features list");
  fv1::ListFeatureViewsRequest request;
  if (args->options.count("prefix")) request.set_name_prefix(args->options.at("prefix"));
  request.mutable_page()->set_page_size(1000);
  fv1::ListFeatureViewsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = fv1::FeatureService::NewStub(ctx.Channel("features"))
                                  ->ListFeatureViews(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "features list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"VIEW", "VERSION", "DATASET", "ENTITY", "FEATURES", "CREATED"});
  for (const fv1::FeatureView& v : response.views()) {
    std::vector<std::string> names;
    for (const fv1::FeatureDefinition& f : v.spec().features()) names.push_back(f.name());
    table.AddRow({v.spec().name(), absl::StrCat(v.version()), v.spec().source_dataset(),
                  v.spec().entity_key_column(), absl::StrJoin(names, ","),
                  FormatMicros(v.created_at_micros())});
  }
  table.Print(std::cout);
  return kExitOk;
}

int FeaturesOnline(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"entity"});
  if (!args.ok()) return UsageError(args.status(), "features online");
  if (args->positional.empty() || !args->options.count("entity")) {
    return UsageError(absl::InvalidArgumentError("give REF... (view:feature or view:*) and --entity=K[,K...]"),
                      "features online");
  }
  fv1::GetOnlineFeaturesRequest request;
  for (const std::string& ref : args->positional) request.add_feature_refs(ref);
  const std::vector<cv1::Value> keys = EntityValues(args->options.at("entity"));
  for (const cv1::Value& key : keys) *request.add_entity_rows()->add_values() = key;
  fv1::GetOnlineFeaturesResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = fv1::FeatureService::NewStub(ctx.Channel("features"))
                                  ->GetOnlineFeatures(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "features online");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  std::vector<std::string> header = {"ENTITY"};
  for (const fv1::OnlineFeatureColumn& c : response.columns()) header.push_back(c.ref());
  Table table(header);
  for (int r = 0; r < response.rows_size(); ++r) {
    const fv1::OnlineFeatureRow& row = response.rows(r);
    std::vector<std::string> cells = {r < static_cast<int>(keys.size()) ? ValueText(keys[r]) : "?"};
    for (int i = 0; i < row.values_size(); ++i) {
      const fv1::FeatureStatus s = i < row.statuses_size() ? row.statuses(i) : fv1::FEATURE_STATUS_PRESENT;
      cells.push_back(s == fv1::FEATURE_STATUS_PRESENT
                          ? ValueText(row.values(i))
                          : "(" + EnumText(fv1::FeatureStatus_Name(s), "FEATURE_STATUS_") + ")");
    }
    table.AddRow(cells);
  }
  table.Print(std::cout);
  return kExitOk;
}

int TrainingJobs(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"experiment", "trigger"});
  if (!args.ok()) return UsageError(args.status(), "training jobs");
  tv1::ListJobsRequest request;
  if (args->options.count("experiment")) request.set_experiment(args->options.at("experiment"));
  if (args->options.count("trigger")) request.set_trigger_name(args->options.at("trigger"));
  request.mutable_page()->set_page_size(100);
  tv1::ListJobsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = tv1::TrainingService::NewStub(ctx.Channel("training"))
                                  ->ListJobs(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "training jobs");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"JOB", "STATE", "TRIALS", "BEST", "MODEL", "STARTED BY", "CREATED"});
  for (const tv1::TrainingJob& j : response.jobs()) {
    const std::string model = j.registration().version() > 0
                                  ? absl::StrCat(j.registration().model_name(), "@", j.registration().version())
                                  : "-";
    const std::string cause = !j.cause().alert_id().empty()     ? "alert " + j.cause().alert_id()
                              : !j.cause().trigger_name().empty() ? "trigger " + j.cause().trigger_name()
                                                                  : OrDash(j.principal());
    table.AddRow({j.id(), EnumText(tv1::JobState_Name(j.state()), "JOB_STATE_"),
                  absl::StrCat(j.trial_counts().succeeded(), "/", j.trials_size()),
                  j.has_best_objective_value() ? FormatNumber(j.best_objective_value()) : "-", model,
                  cause, FormatMicros(j.created_at_micros())});
  }
  table.Print(std::cout);
  return kExitOk;
}

int RolloutShow(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok() || args->positional.size() != 1) {
    return UsageError(args.ok() ? absl::InvalidArgumentError("give ENDPOINT") : args.status(), "rollout show");
  }
  inv1::GetRolloutRequest request;
  request.set_endpoint(args->positional[0]);
  inv1::Rollout rollout;
  auto context = ctx.NewContext();
  const grpc::Status status = inv1::InferenceService::NewStub(ctx.Channel("gateway"))
                                  ->GetRollout(context.get(), request, &rollout);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "rollout show");
  if (ctx.json()) {
    PrintJson(rollout);
    return kExitOk;
  }
  std::cout << "endpoint " << rollout.endpoint() << " (model " << rollout.model() << "): "
            << EnumText(registry::v1::RolloutStrategy_Name(rollout.spec().strategy()), "ROLLOUT_STRATEGY_")
            << " v" << rollout.primary_version() << " -> v" << rollout.candidate_version() << ", "
            << EnumText(registry::v1::RolloutState_Name(rollout.state()), "ROLLOUT_STATE_")
            << ", step " << rollout.current_step() << ", candidate " << FormatNumber(rollout.candidate_percent())
            << "% of traffic\n";
  if (!rollout.rollback_reason().empty()) {
    // Gateways before 2026-11 also put the reason a rollout started here.
    std::cout << (rollout.state() == registry::v1::ROLLOUT_STATE_ROLLED_BACK ? "rolled back: " : "reason: ")
              << rollout.rollback_reason() << "\n";
  }
  return kExitOk;
}

int RolloutRollback(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"reason"});
  if (!args.ok()) return UsageError(args.status(), "rollout rollback");
  if (args->positional.size() != 1 || !args->options.count("reason")) {
    return UsageError(absl::InvalidArgumentError("give ENDPOINT and --reason=R"), "rollout rollback");
  }
  inv1::RollbackRequest request;
  request.set_endpoint(args->positional[0]);
  request.set_reason(args->options.at("reason"));
  inv1::Rollout rollout;
  auto context = ctx.NewContext();
  const grpc::Status status = inv1::InferenceService::NewStub(ctx.Channel("gateway"))
                                  ->Rollback(context.get(), request, &rollout);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "rollout rollback");
  if (ctx.json()) {
    PrintJson(rollout);
  } else {
    std::cout << "rolled back: all traffic of " << rollout.endpoint() << " goes to v"
              << rollout.primary_version() << "\n";
  }
  return kExitOk;
}

int EndpointsStatus(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "endpoints status");
  inv1::ListEndpointsRequest request;
  request.mutable_page()->set_page_size(1000);
  inv1::ListEndpointsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = inv1::InferenceService::NewStub(ctx.Channel("gateway"))
                                  ->ListEndpoints(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "endpoints status");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"ENDPOINT", "MODEL", "PRIMARY", "CANDIDATE", "STRATEGY", "ROLLOUT", "CANDIDATE %", "READY"});
  for (const inv1::Endpoint& e : response.endpoints()) {
    table.AddRow({e.name(), e.model(), absl::StrCat("v", e.primary_version()),
                  e.candidate_version() > 0 ? absl::StrCat("v", e.candidate_version()) : "-",
                  EnumText(registry::v1::RolloutStrategy_Name(e.strategy()), "ROLLOUT_STRATEGY_"),
                  EnumText(registry::v1::RolloutState_Name(e.rollout_state()), "ROLLOUT_STATE_"),
                  FormatNumber(e.candidate_percent()), e.ready() ? "yes" : "no"});
  }
  table.Print(std::cout);
  if (!response.registry_connected()) std::cout << "(the gateway is not connected to the registry)\n";
  return kExitOk;
}

int Predict(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(
      raw_args, {"entity", "file", "endpoint", "csv", "batch", "entity_column", "request_id_column"},
      {"entity", "file", "endpoint", "csv", "batch", "entity_column", "request_id_column"});
  if (!args.ok()) return UsageError(args.status(), "predict");
  const int inputs = static_cast<int>(args->options.count("entity") + args->options.count("file") +
                                      args->options.count("csv"));
  const bool one_endpoint = args->positional.size() + args->options.count("endpoint") == 1;
  if (!one_endpoint || inputs != 1) {
    return UsageError(absl::InvalidArgumentError(
                          "give ENDPOINT (or --endpoint E) and one of --entity=K[,K...], "
                          "--file=request.json (a PredictRequest) or --csv=rows.csv"),
                      "predict");
  }
  const std::string endpoint =
      args->positional.empty() ? args->options.at("endpoint") : args->positional[0];
  if (args->options.count("csv")) return PredictFromCsv(ctx, endpoint, *args);
  inv1::PredictRequest request;
  if (args->options.count("file")) {
    auto text = ReadFileToString(args->options.at("file"));
    if (!text.ok()) return UsageError(text.status(), "predict");
    if (!google::protobuf::util::JsonStringToMessage(*text, &request).ok()) {
      return UsageError(absl::InvalidArgumentError(args->options.at("file") + ": not a PredictRequest in JSON"),
                        "predict");
    }
  } else {
    for (const cv1::Value& key : EntityValues(args->options.at("entity"))) {
      *request.add_rows()->mutable_entity_key() = key;
    }
  }
  request.set_endpoint(endpoint);
  inv1::PredictResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = inv1::InferenceService::NewStub(ctx.Channel("gateway"))
                                  ->Predict(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "predict");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"ROW", "SCORE", "LABEL", "MODEL", "VARIANT", "REQUEST"});
  for (int i = 0; i < response.predictions_size(); ++i) {
    const inv1::RowPrediction& p = response.predictions(i);
    table.AddRow({absl::StrCat(i), FormatNumber(p.score()), OrDash(p.predicted_label()),
                  absl::StrCat(p.model(), "@", p.version()), EnumText(inv1::Variant_Name(p.variant()), "VARIANT_"),
                  p.request_id()});
  }
  table.Print(std::cout);
  return kExitOk;
}

}  // namespace

void AddServingCommands(std::vector<Command>& commands) {
  commands.push_back({"features list", "features list [--prefix=P]", "feature views and their features", FeaturesList});
  commands.push_back({"features online", "features online REF... --entity=K[,K...]",
                      "online values (view:feature or view:*) with their status", FeaturesOnline});
  commands.push_back({"training jobs", "training jobs [--experiment=E] [--trigger=T]",
                      "training jobs: state, trials, best objective, model, cause", TrainingJobs});
  commands.push_back({"rollout show", "rollout show ENDPOINT", "the endpoint's rollout as the gateway runs it",
                      RolloutShow});
  commands.push_back({"rollout rollback", "rollout rollback ENDPOINT --reason=R",
                      "send all traffic back to the primary", RolloutRollback});
  commands.push_back({"endpoints status", "endpoints status", "what the gateway serves on each endpoint",
                      EndpointsStatus});
  commands.push_back({"predict", "predict ENDPOINT --entity=K[,K...] | --file=req.json | --csv=rows.csv",
                      "predictions through the gateway", Predict});
}

}  // namespace mlops::cli
