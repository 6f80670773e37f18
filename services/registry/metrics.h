#pragma once
// The registry's metric families (created once, injected; thread-safe as
// prometheus-cpp is). Labels have bounded values (stage, check kind, outcome,
// event type number), never model names or principals.
#include <string>

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/registry/gate_policy.h"

namespace mlops::registry {

class RegistryMetrics {
 public:
  explicit RegistryMetrics(prometheus::Registry* registry);

  // mlops_registry_gate_checks_total{kind,outcome}
  void GateCheck(CheckKind kind, CheckOutcome outcome);
  // mlops_registry_transitions_total{target_stage,status}
  void Transition(Stage target, const std::string& status);
  // mlops_registry_audit_entries_total{event_type}
  void AuditEntries(int event_type, int count = 1);
  // mlops_registry_versions_registered_total
  void VersionRegistered();
  // mlops_registry_versions{stage}: moves one version between stages.
  void StageMoved(Stage from, Stage to);

 private:
  prometheus::Family<prometheus::Counter>* gate_checks_;
  prometheus::Family<prometheus::Counter>* transitions_;
  prometheus::Family<prometheus::Counter>* audit_entries_;
  prometheus::Counter* registered_;
  prometheus::Family<prometheus::Gauge>* versions_;
};

}  // namespace mlops::registry
