#include "services/registry/registry_convert.h"

#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/artifact_import.h"
#include "services/registry/model_tests.h"

namespace mlops::registry {
namespace {

Tags TagsFromProto(const google::protobuf::RepeatedPtrField<mlops::common::v1::KeyValue>& kvs) {
  Tags out;
  for (const auto& kv : kvs) out.emplace_back(kv.key(), kv.value());
  return out;
}

void TagsToProto(const Tags& tags,
                 google::protobuf::RepeatedPtrField<mlops::common::v1::KeyValue>* out) {
  for (const auto& [k, v] : tags) {
    auto* kv = out->Add();
    kv->set_key(k);
    kv->set_value(v);
  }
}

absl::Status CheckSignature(const pb::ModelSignature& s) {
  if (s.inputs_size() == 0) {
    return absl::InvalidArgumentError("header.signature.inputs: at least one input is required");
  }
  std::set<std::string> seen;
  for (int i = 0; i < s.inputs_size(); ++i) {
    const pb::SignatureInput& in = s.inputs(i);
    const std::string field = absl::StrCat("header.signature.inputs[", i, "]");
    if (in.name().empty()) return absl::InvalidArgumentError(field + ".name: required");
    if (!seen.insert(in.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name: duplicate input \"", in.name(), "\""));
    }
    switch (in.type()) {
      case mlops::common::v1::DATA_TYPE_INT64:
      case mlops::common::v1::DATA_TYPE_DOUBLE:
      case mlops::common::v1::DATA_TYPE_BOOL:
        break;
      case mlops::common::v1::DATA_TYPE_STRING:
        if (in.categories_size() == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              field, ": STRING input \"", in.name(), "\" needs its categories"));
        }
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".type: XGBoost cannot take input \"", in.name(), "\" of this type"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvaluationRecord> EvaluationFromProto(const pb::Evaluation& e,
                                                     const std::string& field) {
  EvaluationRecord out;
  out.name = e.name().empty() ? "test" : e.name();
  MLOPS_RETURN_IF_ERROR(CheckName(out.name, field + ".name"));
  MLOPS_RETURN_IF_ERROR(CheckSha256(e.dataset_version(), field + ".dataset_version"));
  out.dataset_version = e.dataset_version();
  if (e.metrics().empty() || e.metrics_size() > 256) {
    return absl::InvalidArgumentError(field + ".metrics: 1 .. 256 entries required");
  }
  for (const auto& [k, v] : e.metrics()) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".metrics[\"", k, "\"]: NaN/inf not allowed"));
    }
    out.metrics[k] = v;
  }
  return out;
}

absl::Status CheckName(const std::string& name, const std::string& field) {
  bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) ok = false;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", name.substr(0, 80), "\" does not match [a-z][a-z0-9_]{0,62}"));
  }
  return absl::OkStatus();
}

absl::Status CheckSha256(const std::string& hex, const std::string& field) {
  bool ok = hex.size() == 64;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) ok = false;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": not a lowercase hex sha256 (64 characters)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Stage> StageFromProto(pb::Stage stage, const std::string& field) {
  switch (stage) {
    case pb::STAGE_NONE: return Stage::kNone;
    case pb::STAGE_STAGING: return Stage::kStaging;
    case pb::STAGE_PRODUCTION: return Stage::kProduction;
    case pb::STAGE_ARCHIVED: return Stage::kArchived;
    default: return absl::InvalidArgumentError(field + ": a stage is required");
  }
}

pb::Stage StageToProto(Stage stage) { return static_cast<pb::Stage>(static_cast<int>(stage)); }

void ModelToProto(const ModelRecord& m, pb::Model* out) {
  out->set_name(m.name);
  out->set_description(m.description);
  out->set_owner(m.owner);
  TagsToProto(m.tags, out->mutable_tags());
  out->set_created_at_micros(m.created_at_micros);
  out->set_created_by(m.created_by);
  out->set_latest_version(m.latest_version);
  out->set_production_version(m.production_version);
  for (int64_t v : m.staging_versions) out->add_staging_versions(v);
  for (const AliasRecord& a : m.aliases) {
    pb::Alias* pa = out->add_aliases();
    pa->set_name(a.name);
    pa->set_model(a.model);
    pa->set_version(a.version);
    pa->set_updated_at_micros(a.updated_at_micros);
    pa->set_updated_by(a.updated_by);
  }
  out->set_version_count(m.version_count);
}

absl::Status ArtifactReferenceFromProto(const pb::ArtifactReference& ref, NewVersion* nv) {
  constexpr char kUri[] = "header.artifact_reference.uri";
  constexpr char kSha[] = "header.artifact_reference.sha256";
  VersionRecord& v = nv->record;
  if (ref.size_bytes() < 0) {
    return absl::InvalidArgumentError("header.artifact_reference.size_bytes: must be >= 0");
  }
  v.artifact_size = ref.size_bytes();
  nv->by_reference = true;
  nv->reference_field = kUri;
  if (ref.uri().rfind("sha256:", 0) == 0) {
    v.artifact_sha256 = ref.uri().substr(7);
    MLOPS_RETURN_IF_ERROR(CheckSha256(v.artifact_sha256, kUri));
    if (!ref.sha256().empty() && ref.sha256() != v.artifact_sha256) {
      return absl::InvalidArgumentError(absl::StrCat(kSha, ": ", ref.sha256(),
                                                     " differs from the uri's ",
                                                     v.artifact_sha256));
    }
    return absl::OkStatus();
  }
  if (ref.uri().empty()) return absl::InvalidArgumentError(absl::StrCat(kUri, ": required"));
  MLOPS_RETURN_IF_ERROR(FilePathFromUri(ref.uri(), kUri).status());
  if (ref.sha256().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kSha, ": required for a \"file://\" reference"));
  }
  MLOPS_RETURN_IF_ERROR(CheckSha256(ref.sha256(), kSha));
  v.artifact_sha256 = ref.sha256();
  nv->import_uri = ref.uri();
  return absl::OkStatus();
}

absl::StatusOr<NewVersion> NewVersionFromHeader(const pb::RegisterModelVersionHeader& h) {
  MLOPS_RETURN_IF_ERROR(CheckName(h.model(), "header.model"));
  MLOPS_RETURN_IF_ERROR(CheckSignature(h.signature()));
  NewVersion nv;
  nv.create_model_if_missing = h.create_model_if_missing();
  VersionRecord& v = nv.record;
  v.model = h.model();
  if (h.has_expected_artifact()) {
    MLOPS_RETURN_IF_ERROR(CheckSha256(h.expected_artifact().sha256(),
                                      "header.expected_artifact.sha256"));
    v.artifact_sha256 = h.expected_artifact().sha256();
    v.artifact_size = h.expected_artifact().size_bytes();
  } else if (h.has_artifact_reference()) {
    MLOPS_RETURN_IF_ERROR(ArtifactReferenceFromProto(h.artifact_reference(), &nv));
  } else {
    return absl::InvalidArgumentError(
        "header: expected_artifact or artifact_reference is required");
  }
  if (!h.lineage().training_dataset_version().empty()) {
    MLOPS_RETURN_IF_ERROR(CheckSha256(h.lineage().training_dataset_version(),
                                      "header.lineage.training_dataset_version"));
  }
  v.run_id = h.lineage().run_id();
  v.training_dataset_version = h.lineage().training_dataset_version();
  v.tags = TagsFromProto(h.tags());
  for (int i = 0; i < h.evaluations_size(); ++i) {
    MLOPS_ASSIGN_OR_RETURN(EvaluationRecord e, EvaluationFromProto(
                                                   h.evaluations(i),
                                                   absl::StrCat("header.evaluations[", i, "]")));
    v.evaluations.push_back(std::move(e));
  }
  pb::RegisterModelVersionHeader meta;
  meta.set_flavor(h.flavor() == pb::FLAVOR_UNSPECIFIED ? pb::FLAVOR_XGBOOST : h.flavor());
  meta.set_flavor_version(h.flavor_version());
  meta.set_artifact_format(h.artifact_format());
  *meta.mutable_signature() = h.signature();
  *meta.mutable_lineage() = h.lineage();
  *meta.mutable_docs() = h.docs();
  meta.SerializeToString(&v.metadata);
  return nv;
}

void VersionToProto(const VersionRecord& v, pb::ModelVersion* out) {
  pb::RegisterModelVersionHeader meta;
  meta.ParseFromString(v.metadata);
  out->set_model(v.model);
  out->set_version(v.version);
  out->set_flavor(meta.flavor());
  out->set_flavor_version(meta.flavor_version());
  out->mutable_artifact()->set_sha256(v.artifact_sha256);
  out->mutable_artifact()->set_size_bytes(v.artifact_size);
  out->mutable_artifact()->set_format(meta.artifact_format());
  *out->mutable_signature() = meta.signature();
  *out->mutable_lineage() = meta.lineage();
  *out->mutable_docs() = meta.docs();
  for (const EvaluationRecord& e : v.evaluations) {
    pb::Evaluation* pe = out->add_evaluations();
    pe->set_name(e.name);
    pe->set_dataset_version(e.dataset_version);
    for (const auto& [k, val] : e.metrics) (*pe->mutable_metrics())[k] = val;
    pe->set_recorded_at_micros(e.recorded_at_micros);
  }
  TagsToProto(v.tags, out->mutable_tags());
  out->set_stage(StageToProto(v.stage));
  out->set_stage_changed_at_micros(v.stage_changed_at_micros);
  for (const std::string& a : v.aliases) out->add_aliases(a);
  out->set_created_at_micros(v.created_at_micros);
  out->set_created_by(v.created_by);
}

absl::StatusOr<GatePolicy> PolicyFromProto(const pb::GatePolicy& p) {
  MLOPS_RETURN_IF_ERROR(CheckName(p.model(), "policy.model"));
  GatePolicy out;
  out.model = p.model();
  out.require_staging_before_production = p.require_staging_before_production();
  for (const pb::StageGate* g : {&p.staging(), &p.production()}) {
    const std::string stage = g == &p.staging() ? "policy.staging" : "policy.production";
    StageGate& d = g == &p.staging() ? out.staging : out.production;
    if (g->latency_tests_size() > 0 || g->bias_tests_size() > 0 ||
        g->regression_tests_size() > 0) {
      MLOPS_RETURN_IF_ERROR(ValidateModelTests(*g, stage));
      pb::StageGate tests;
      *tests.mutable_latency_tests() = g->latency_tests();
      *tests.mutable_bias_tests() = g->bias_tests();
      *tests.mutable_regression_tests() = g->regression_tests();
      tests.SerializeToString(&d.model_tests);
    }
    for (int i = 0; i < g->thresholds_size(); ++i) {
      const pb::ThresholdCheck& t = g->thresholds(i);
      if (t.comparison() == pb::COMPARISON_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            absl::StrCat(stage, ".thresholds[", i, "].comparison: required"));
      }
      d.thresholds.push_back({t.name(), t.metric(), static_cast<Comparison>(t.comparison()),
                              t.value(), t.evaluation_name()});
    }
    for (int i = 0; i < g->champion_challenger_size(); ++i) {
      const pb::ChampionChallengerCheck& c = g->champion_challenger(i);
      if (c.direction() == pb::METRIC_DIRECTION_UNSPECIFIED) {
        return absl::InvalidArgumentError(
            absl::StrCat(stage, ".champion_challenger[", i, "].direction: required"));
      }
      if (!c.champion_alias().empty()) {
        MLOPS_RETURN_IF_ERROR(CheckName(
            c.champion_alias(), absl::StrCat(stage, ".champion_challenger[", i, "].champion_alias")));
      }
      ChampionChallengerCheck d_c;
      d_c.name = c.name();
      d_c.metric = c.metric();
      d_c.direction = static_cast<Direction>(c.direction());
      d_c.relative = c.has_min_relative_improvement();
      d_c.min_improvement =
          d_c.relative ? c.min_relative_improvement() : c.min_absolute_improvement();
      d_c.evaluation_name = c.evaluation_name();
      d_c.fail_if_no_champion = c.fail_if_no_champion();
      d_c.champion_alias = c.champion_alias();
      d.champion_challenger.push_back(std::move(d_c));
    }
    d.approvals.count = g->approvals().count();
    if (!g->approvals().role().empty()) {
      absl::StatusOr<Role> role = ParseRole(g->approvals().role());
      if (!role.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(stage, ".approvals.role: unknown role \"",
                                                       g->approvals().role(), "\""));
      }
      d.approvals.role = *role;
    }
  }
  return out;
}

void PolicyToProto(const GatePolicy& p, pb::GatePolicy* out) {
  out->set_model(p.model);
  out->set_require_staging_before_production(p.require_staging_before_production);
  out->set_policy_version(p.policy_version);
  out->set_updated_at_micros(p.updated_at_micros);
  out->set_updated_by(p.updated_by);
  for (const StageGate* g : {&p.staging, &p.production}) {
    pb::StageGate* pg = g == &p.staging ? out->mutable_staging() : out->mutable_production();
    for (const ThresholdCheck& t : g->thresholds) {
      pb::ThresholdCheck* pt = pg->add_thresholds();
      pt->set_name(t.name);
      pt->set_metric(t.metric);
      pt->set_comparison(static_cast<pb::Comparison>(t.comparison));
      pt->set_value(t.value);
      pt->set_evaluation_name(t.evaluation_name);
    }
    for (const ChampionChallengerCheck& c : g->champion_challenger) {
      pb::ChampionChallengerCheck* pc = pg->add_champion_challenger();
      pc->set_name(c.name);
      pc->set_metric(c.metric);
      pc->set_direction(static_cast<pb::MetricDirection>(c.direction));
      if (c.relative) {
        pc->set_min_relative_improvement(c.min_improvement);
      } else {
        pc->set_min_absolute_improvement(c.min_improvement);
      }
      pc->set_evaluation_name(c.evaluation_name);
      pc->set_fail_if_no_champion(c.fail_if_no_champion);
      pc->set_champion_alias(c.champion_alias);
    }
    if (!g->model_tests.empty()) {
      pb::StageGate tests;
      tests.ParseFromString(g->model_tests);
      *pg->mutable_latency_tests() = tests.latency_tests();
      *pg->mutable_bias_tests() = tests.bias_tests();
      *pg->mutable_regression_tests() = tests.regression_tests();
    }
    pg->mutable_approvals()->set_count(g->approvals.count);
    pg->mutable_approvals()->set_role(std::string(RoleName(g->approvals.role)));
  }
}

void TransitionToProto(const TransitionRecord& t, pb::TransitionRequest* out) {
  out->set_id(t.id);
  out->mutable_version()->set_model(t.model);
  out->mutable_version()->set_version(t.version);
  out->set_from_stage(StageToProto(t.from_stage));
  out->set_target_stage(StageToProto(t.target_stage));
  out->set_reason(t.reason);
  out->set_requested_by(t.requested_by);
  out->set_requested_at_micros(t.requested_at_micros);
  out->set_status(static_cast<pb::TransitionStatus>(static_cast<int>(t.status)));
  pb::GateReport* r = out->mutable_gate_report();
  r->set_passed(t.report.passed);
  r->set_policy_version(t.report.policy_version);
  r->set_target_stage(StageToProto(t.target_stage));
  r->set_evaluated_at_micros(t.report.evaluated_at_micros);
  for (const CheckResult& c : t.report.checks) {
    pb::CheckResult* pc = r->add_checks();
    pc->set_name(c.name);
    pc->set_kind(static_cast<pb::CheckKind>(c.kind));
    pc->set_outcome(static_cast<pb::CheckOutcome>(c.outcome));
    pc->set_metric(c.metric);
    pc->set_measured(c.measured);
    pc->set_limit(c.limit);
    pc->set_comparison(static_cast<pb::Comparison>(c.comparison));
    pc->set_candidate_value(c.candidate_value);
    pc->set_champion_value(c.champion_value);
    pc->set_champion_version(c.champion_version);
    pc->set_message(c.message);
    pc->set_duration_micros(c.duration_micros);
    for (const GroupValue& g : c.groups) {
      pb::GroupResult* pg = pc->add_groups();
      pg->set_group(g.group);
      pg->set_value(g.value);
      pg->set_count(g.count);
    }
    for (const Mismatch& m : c.mismatches) {
      pb::RegressionMismatch* pm = pc->add_mismatches();
      pm->set_row(m.row);
      for (double v : m.expected) pm->add_expected(v);
      for (double v : m.actual) pm->add_actual(v);
    }
  }
  if (t.required_approvals > 0) {
    pb::CheckResult* pc = r->add_checks();
    pc->set_name(absl::StrCat("approvals >= ", t.required_approvals));
    pc->set_kind(pb::CHECK_KIND_APPROVALS);
    int approved = 0;
    for (const ApprovalRecord& a : t.approvals) approved += a.approved ? 1 : 0;
    pc->set_measured(approved);
    pc->set_limit(t.required_approvals);
    pc->set_comparison(pb::COMPARISON_GREATER_OR_EQUAL);
    pc->set_outcome(approved >= t.required_approvals ? pb::CHECK_OUTCOME_PASSED
                                                     : pb::CHECK_OUTCOME_PENDING);
  }
  for (const ApprovalRecord& a : t.approvals) {
    pb::Approval* pa = out->add_approvals();
    pa->set_principal(a.principal);
    pa->set_role(a.role);
    pa->set_approved(a.approved);
    pa->set_comment(a.comment);
    pa->set_at_micros(a.at_micros);
  }
  out->set_resolved_at_micros(t.resolved_at_micros);
  out->set_replaced_production_version(t.replaced_production_version);
}

void AuditToProto(const AuditEntry& e, pb::AuditEntry* out) {
  out->set_sequence(e.sequence);
  out->set_at_micros(e.at_micros);
  out->set_principal(e.principal);
  out->set_event_type(static_cast<pb::AuditEventType>(e.event_type));
  out->set_model(e.model);
  out->set_version(e.version);
  out->set_endpoint(e.endpoint);
  out->set_request_id(e.request_id);
  out->set_before_json(e.before_json);
  out->set_after_json(e.after_json);
  out->set_reason(e.reason);
  out->set_details_json(e.details_json);
  out->set_prev_hash(e.prev_hash);
  out->set_entry_hash(e.entry_hash);
}

std::string EncodeToken(const std::string& text) { return absl::WebSafeBase64Escape(text); }

absl::StatusOr<std::string> DecodeToken(const std::string& token) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(token, &out)) {
    return absl::InvalidArgumentError("page.page_token: malformed");
  }
  return out;
}

std::string EncodeVersionToken(const std::string& model, int64_t version) {
  return EncodeToken(absl::StrCat(model, "@", version));
}

absl::Status DecodeVersionToken(const std::string& token, std::string* model, int64_t* version) {
  MLOPS_ASSIGN_OR_RETURN(std::string text, DecodeToken(token));
  size_t at = text.rfind('@');
  if (at == std::string::npos || !absl::SimpleAtoi(text.substr(at + 1), version)) {
    return absl::InvalidArgumentError("page.page_token: malformed");
  }
  *model = text.substr(0, at);
  return absl::OkStatus();
}

int PageSize(int requested) {
  if (requested <= 0) return 100;
  return requested > 1000 ? 1000 : requested;
}

}  // namespace mlops::registry
