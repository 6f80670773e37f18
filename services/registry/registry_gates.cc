// Registry: gate policies and running a gate (see registry.h).
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/registry.h"

namespace mlops::registry {

absl::StatusOr<GatePolicy> Registry::SetGatePolicy(const Principal& who, GatePolicy policy,
                                                   const std::string& reason) {
  MLOPS_RETURN_IF_ERROR(ValidateGatePolicy(policy));
  policy.updated_at_micros = Now();
  policy.updated_by = who.name;
  MLOPS_ASSIGN_OR_RETURN(GatePolicy out, store_->SetGatePolicy(
                                             policy, Audit(who, kAuditGatePolicySet,
                                                           policy.model, 0, reason)));
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditGatePolicySet);
  return out;
}

absl::StatusOr<GatePolicy> Registry::GetGatePolicy(const std::string& model) {
  return store_->GetGatePolicy(model);
}

std::vector<CheckResult> Registry::RunModelTests(const StageGate& gate,
                                                const VersionRecord& v) const {
  CheckResult error;
  error.name = "model tests";
  error.kind = CheckKind::kLatency;
  error.outcome = CheckOutcome::kError;
  if (options_.model_tester == nullptr) {
    error.message = "the policy has model tests but this registry cannot run them";
    return {error};
  }
  absl::StatusOr<std::string> artifact = ReadWholeArtifact(*artifacts_, v.artifact_sha256);
  if (!artifact.ok()) {
    error.message = absl::StrCat("artifact ", v.artifact_sha256, ": ", artifact.status().message());
    return {error};
  }
  return options_.model_tester->Run(gate.model_tests, v, *artifact);
}

absl::StatusOr<GateReport> Registry::RunGate(const GatePolicy& policy, const ModelRecord& model,
                                             const VersionRecord& v, Stage target) {
  const StageGate& gate = *GateFor(policy, target);
  // Each check's champion: "" = the production version, else the alias's
  // version (none when unset, or when it is the candidate itself).
  std::map<std::string, std::optional<VersionRecord>> champions;
  for (const ChampionChallengerCheck& c : gate.champion_challenger) {
    if (champions.count(c.champion_alias) != 0) continue;
    int64_t number = 0;
    if (c.champion_alias.empty()) {
      number = model.production_version;
    } else {
      for (const AliasRecord& a : model.aliases) {
        if (a.name == c.champion_alias) number = a.version;
      }
    }
    std::optional<VersionRecord>& slot = champions[c.champion_alias];
    if (number != 0 && number != v.version) {
      MLOPS_ASSIGN_OR_RETURN(slot, store_->GetVersion(model.name, number));
    }
  }
  auto champion_of = [&champions](const std::string& alias) -> const VersionRecord* {
    auto it = champions.find(alias);
    return it != champions.end() && it->second.has_value() ? &*it->second : nullptr;
  };
  GateReport report = EvaluateGate(gate, target, v, champion_of, policy.policy_version, Now());
  if (!gate.model_tests.empty()) AddChecks(RunModelTests(gate, v), &report);
  if (metrics_ != nullptr) {
    for (const CheckResult& c : report.checks) metrics_->GateCheck(c.kind, c.outcome);
  }
  return report;
}

}  // namespace mlops::registry
