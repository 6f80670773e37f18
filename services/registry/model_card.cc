#include "services/registry/model_card.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "services/registry/registry_convert.h"

namespace mlops::registry {
namespace {

constexpr char kNotQueried[] = "not queried: this registry has no peers to ask";

void AddRef(v1::ModelCard* card, mlops::common::v1::ResourceKind kind, const std::string& id,
            const std::string& name) {
  v1::ResolvedResource* r = card->add_lineage();
  r->mutable_ref()->set_kind(kind);
  r->mutable_ref()->set_id(id);
  r->mutable_ref()->set_name(name);
  r->set_available(false);
  r->set_unavailable_reason(kNotQueried);
}

std::string KindText(mlops::common::v1::ResourceKind kind) {
  switch (kind) {
    case mlops::common::v1::RESOURCE_KIND_DATASET_VERSION: return "dataset version";
    case mlops::common::v1::RESOURCE_KIND_FEATURE_VIEW_VERSION: return "feature view";
    case mlops::common::v1::RESOURCE_KIND_RUN: return "run";
    default: return "resource";
  }
}

std::string TimeText(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

std::string StageText(v1::Stage s) {
  std::string name = v1::Stage_Name(s);
  return name.rfind("STAGE_", 0) == 0 ? name.substr(6) : name;
}

}  // namespace

v1::ExportModelCardResponse BuildModelCard(const ModelCardData& data,
                                           const std::string& generated_by, int64_t now_micros,
                                           const CardResolver* resolver) {
  v1::ExportModelCardResponse out;
  v1::ModelCard* card = out.mutable_card();
  VersionToProto(data.version, card->mutable_version());
  ModelToProto(data.model, card->mutable_model());
  const v1::ModelLineage& l = card->version().lineage();
  using mlops::common::v1::ResourceKind;
  if (!l.training_dataset_version().empty()) {
    AddRef(card, mlops::common::v1::RESOURCE_KIND_DATASET_VERSION, l.training_dataset_version(),
           l.training_dataset_name());
  }
  for (const v1::Evaluation& e : card->version().evaluations()) {
    AddRef(card, mlops::common::v1::RESOURCE_KIND_DATASET_VERSION, e.dataset_version(),
           "evaluation " + e.name());
  }
  for (const v1::FeatureViewVersion& fv : l.feature_views()) {
    AddRef(card, mlops::common::v1::RESOURCE_KIND_FEATURE_VIEW_VERSION,
           absl::StrCat(fv.name(), "@", fv.version()), fv.name());
  }
  if (!l.run_id().empty()) {
    AddRef(card, mlops::common::v1::RESOURCE_KIND_RUN, l.run_id(), l.experiment());
  }
  for (const TransitionRecord& t : data.transitions) TransitionToProto(t, card->add_transitions());
  for (const AuditEntry& e : data.stage_history) {
    v1::StageChange* sc = card->add_stage_history();
    for (Stage s : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
      const std::string json = absl::StrCat("{\"stage\":\"", StageName(s), "\"}");
      if (e.before_json == json) sc->set_from_stage(StageToProto(s));
      if (e.after_json == json) sc->set_to_stage(StageToProto(s));
    }
    sc->set_at_micros(e.at_micros);
    sc->set_principal(e.principal);
    sc->set_reason(e.reason);
    sc->set_audit_sequence(e.sequence);
  }
  card->mutable_monitoring()->set_available(false);
  card->mutable_monitoring()->set_unavailable_reason(kNotQueried);
  for (const AuditEntry& e : data.stage_history) {
    if (e.after_json == absl::StrCat("{\"stage\":\"", StageName(Stage::kProduction), "\"}")) {
      card->mutable_monitoring()->set_since_micros(e.at_micros);
      break;
    }
  }
  if (resolver != nullptr) resolver->Resolve(card);
  PolicyToProto(data.policy, card->mutable_current_policy());
  card->set_generated_at_micros(now_micros);
  card->set_generated_by(generated_by);
  card->set_audit_head_sequence(data.audit_head_sequence);
  card->set_audit_head_hash(data.audit_head_hash);
  google::protobuf::util::JsonPrintOptions json_options;
  json_options.add_whitespace = true;
  if (!google::protobuf::util::MessageToJsonString(*card, out.mutable_json(), json_options).ok()) {
    out.clear_json();
  }
  out.set_markdown(ModelCardMarkdown(*card));
  return out;
}

std::string ModelCardMarkdown(const v1::ModelCard& card) {
  const v1::ModelVersion& v = card.version();
  std::string md = absl::StrCat("# Model card: ", v.model(), " version ", v.version(), "\n\n");
  absl::StrAppend(&md, "- Stage: ", StageText(v.stage()), "\n- Artifact sha256: `",
                  v.artifact().sha256(), "` (", v.artifact().size_bytes(), " bytes)\n",
                  "- Registered by ", v.created_by(), " at ", TimeText(v.created_at_micros()),
                  "\n- Owner: ", v.docs().owner().empty() ? card.model().owner()
                                                                        : v.docs().owner(),
                  "\n\n## Intended use\n\n",
                  v.docs().intended_use().empty() ? "(not documented)" : v.docs().intended_use(),
                  "\n\n## Known limitations\n\n",
                  v.docs().limitations().empty() ? "(not documented)" : v.docs().limitations(),
                  "\n\n## Signature\n\n| input | type |\n| --- | --- |\n");
  for (const v1::SignatureInput& in : v.signature().inputs()) {
    absl::StrAppend(&md, "| ", in.name(), " | ", mlops::common::v1::DataType_Name(in.type()),
                    " |\n");
  }
  const v1::ModelLineage& l = v.lineage();
  absl::StrAppend(&md, "\n## Lineage\n\n- Run: ", l.run_id(), "\n- Training dataset: ",
                  l.training_dataset_name(), " `", l.training_dataset_version(), "`\n- Code: ",
                  l.code_version(), "\n");
  for (const auto& kv : l.params()) absl::StrAppend(&md, "- Param ", kv.key(), " = ", kv.value(), "\n");
  for (const v1::ResolvedResource& r : card.lineage()) {
    const std::string kind = KindText(r.ref().kind());
    if (r.available()) {
      absl::StrAppend(&md, "- ", kind, " `", r.ref().id(), "`: resolved (details in the JSON card)\n");
    } else {
      absl::StrAppend(&md, "- ", kind, " `", r.ref().id(), "`: details unavailable (",
                      r.unavailable_reason(), ")\n");
    }
  }
  absl::StrAppend(&md, "\n## Evaluations\n\n");
  for (const v1::Evaluation& e : v.evaluations()) {
    absl::StrAppend(&md, "- ", e.name(), " on `", e.dataset_version(), "`:");
    for (const auto& [k, val] : e.metrics()) absl::StrAppend(&md, " ", k, "=", absl::StrFormat("%.6g", val));
    md += "\n";
  }
  absl::StrAppend(&md, "\n## Gate decisions and approvals\n\n");
  for (const v1::TransitionRequest& t : card.transitions()) {
    absl::StrAppend(&md, "- ", t.id(), ": ", StageText(t.from_stage()), " -> ",
                    StageText(t.target_stage()), " requested by ", t.requested_by(), ": ",
                    v1::TransitionStatus_Name(t.status()), "\n");
    for (const v1::CheckResult& c : t.gate_report().checks()) {
      absl::StrAppend(&md, "  - ", c.name(), ": ", v1::CheckOutcome_Name(c.outcome()),
                      " (measured ", absl::StrFormat("%.6g", c.measured()), ")\n");
    }
    for (const v1::Approval& a : t.approvals()) {
      absl::StrAppend(&md, "  - ", a.approved() ? "approved" : "rejected", " by ", a.principal(),
                      " (", a.role(), "): ", a.comment(), "\n");
    }
  }
  absl::StrAppend(&md, "\n## Stage history\n\n");
  for (const v1::StageChange& s : card.stage_history()) {
    absl::StrAppend(&md, "- ", TimeText(s.at_micros()), ": ", StageText(s.from_stage()), " -> ",
                    StageText(s.to_stage()), " by ", s.principal(), " (audit #",
                    s.audit_sequence(), ")\n");
  }
  absl::StrAppend(&md, "\n## Monitoring\n\n");
  const v1::MonitoringStatus& m = card.monitoring();
  if (!m.available()) {
    absl::StrAppend(&md, "Unavailable: ", m.unavailable_reason(), "\n");
  } else {
    absl::StrAppend(&md, "- In production since: ", TimeText(m.since_micros()),
                    "\n- Latest drift share: ", absl::StrFormat("%.3g", m.latest_drift_share()),
                    m.latest_dataset_drift() ? " (dataset drift)" : "", "\n- Alerts: ",
                    m.alerts_size(), "\n");
    for (const v1::AlertSummary& a : m.alerts()) {
      absl::StrAppend(&md, "  - ", a.alert_id(), " ", a.policy(), " (", a.metric(), ", ",
                      a.severity(), "): ", a.state(), ", fired ", TimeText(a.fired_at_micros()),
                      ": ", a.summary(), "\n");
    }
  }
  absl::StrAppend(&md, "\n---\nGenerated by ", card.generated_by(), " at ",
                  TimeText(card.generated_at_micros()), "; audit head #",
                  card.audit_head_sequence(), " `", card.audit_head_hash(), "`\n");
  return md;
}

}  // namespace mlops::registry
