#include "services/registry/metrics.h"

#include "absl/strings/str_cat.h"

namespace mlops::registry {
namespace {

const char* KindName(CheckKind k) {
  switch (k) {
    case CheckKind::kThreshold: return "threshold";
    case CheckKind::kChampionChallenger: return "champion_challenger";
    case CheckKind::kLatency: return "latency";
    case CheckKind::kBias: return "bias";
    case CheckKind::kRegressionSet: return "regression_set";
    case CheckKind::kApprovals: return "approvals";
    case CheckKind::kStagingRequired: return "staging_required";
  }
  return "unknown";
}

const char* OutcomeName(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::kPassed: return "passed";
    case CheckOutcome::kFailed: return "failed";
    case CheckOutcome::kError: return "error";
    case CheckOutcome::kPending: return "pending";
  }
  return "unknown";
}

}  // namespace

RegistryMetrics::RegistryMetrics(prometheus::Registry* registry)
    : gate_checks_(&prometheus::BuildCounter()
                        .Name("mlops_registry_gate_checks_total")
                        .Help("Gate checks evaluated, by check kind and outcome")
                        .Register(*registry)),
      transitions_(&prometheus::BuildCounter()
                        .Name("mlops_registry_transitions_total")
                        .Help("Transition requests resolved, by target stage and status")
                        .Register(*registry)),
      audit_entries_(&prometheus::BuildCounter()
                          .Name("mlops_registry_audit_entries_total")
                          .Help("Audit entries appended by this replica, by event type")
                          .Register(*registry)),
      registered_(&prometheus::BuildCounter()
                       .Name("mlops_registry_versions_registered_total")
                       .Help("Model versions registered by this replica")
                       .Register(*registry)
                       .Add({})),
      versions_(&prometheus::BuildGauge()
                     .Name("mlops_registry_versions")
                     .Help("Versions moved into (+) and out of (-) each stage by this replica "
                           "since it started (registrations count as NONE)")
                     .Register(*registry)) {}

void RegistryMetrics::GateCheck(CheckKind kind, CheckOutcome outcome) {
  gate_checks_->Add({{"kind", KindName(kind)}, {"outcome", OutcomeName(outcome)}}).Increment();
}

void RegistryMetrics::Transition(Stage target, const std::string& status) {
  transitions_->Add({{"target_stage", StageName(target)}, {"status", status}}).Increment();
}

void RegistryMetrics::AuditEntries(int event_type, int count) {
  audit_entries_->Add({{"event_type", absl::StrCat(event_type)}}).Increment(count);
}

void RegistryMetrics::VersionRegistered() {
  registered_->Increment();
  versions_->Add({{"stage", StageName(Stage::kNone)}}).Increment();
}

void RegistryMetrics::StageMoved(Stage from, Stage to) {
  versions_->Add({{"stage", StageName(from)}}).Decrement();
  versions_->Add({{"stage", StageName(to)}}).Increment();
}

}  // namespace mlops::registry
