// `mlopsctl models ...` and `mlopsctl audit verify`: the registry from the shell.
#include <iostream>

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

std::string VersionOrDash(int64_t version) { return version > 0 ? absl::StrCat(version) : "-"; }

int ModelsList(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {"prefix"});
  if (!args.ok()) return UsageError(args.status(), "models list");
  auto stub = rv1::RegistryService::NewStub(ctx.Channel("registry"));
  rv1::ListModelsRequest request;
  if (auto it = args->options.find("prefix"); it != args->options.end()) {
    request.set_name_prefix(it->second);
  }
  request.mutable_page()->set_page_size(1000);
  rv1::ListModelsResponse response;
  auto context = ctx.NewContext();
  const grpc::Status status = stub->ListModels(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "models list");
  if (ctx.json()) {
    PrintJson(response);
    return kExitOk;
  }
  Table table({"MODEL", "VERSIONS", "LATEST", "PRODUCTION", "STAGING", "OWNER"});
  for (const rv1::Model& model : response.models()) {
    table.AddRow({model.name(), absl::StrCat(model.version_count()),
                  VersionOrDash(model.latest_version()), VersionOrDash(model.production_version()),
                  model.staging_versions().empty()
                      ? "-"
                      : absl::StrJoin(model.staging_versions(), ","),
                  model.owner().empty() ? "-" : model.owner()});
  }
  table.Print(std::cout);
  if (!response.next_page_token().empty()) std::cout << "(more; narrow with --prefix)\n";
  return kExitOk;
}

int AuditVerify(CliContext& ctx, const std::vector<std::string>& raw_args) {
  auto args = ParseCommandArgs(raw_args, {});
  if (!args.ok()) return UsageError(args.status(), "audit verify");
  auto stub = rv1::RegistryService::NewStub(ctx.Channel("registry"));
  rv1::VerifyAuditLogRequest request;
  rv1::VerifyAuditLogResponse response;
  auto context = ctx.NewContext(std::chrono::milliseconds(120000));
  const grpc::Status status = stub->VerifyAuditLog(context.get(), request, &response);
  if (!status.ok()) return ReportError(FromGrpcStatus(status), "audit verify");
  if (ctx.json()) {
    PrintJson(response);
  } else if (response.ok()) {
    std::cout << "audit log ok: " << response.entries_checked() << " entries, head "
              << response.head_hash() << "\n";
  } else {
    std::cout << "audit log BROKEN at entry " << response.first_broken_sequence() << " ("
              << rv1::AuditBreak_Name(response.break_kind()) << "): expected "
              << response.expected_hash() << ", found " << response.actual_hash() << "\n";
  }
  return response.ok() ? kExitOk : kExitFailed;
}

}  // namespace

void AddRegistryCommands(std::vector<Command>& commands) {
  commands.push_back({"models list", "models list [--prefix=P]",
                      "models with their latest, production and staging versions", ModelsList});
  commands.push_back({"audit verify", "audit verify",
                      "recompute the registry's audit hash chain; exit 1 if broken", AuditVerify});
}

}  // namespace mlops::cli
