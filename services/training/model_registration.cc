#include "services/training/model_registration.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/training/tracking.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace rv1 = ::mlops::registry::v1;

rv1::OutputKind OutputKindOf(v1::Objective objective) {
  switch (objective) {
    case v1::OBJECTIVE_BINARY_LOGISTIC: return rv1::OUTPUT_KIND_BINARY_PROBABILITY;
    case v1::OBJECTIVE_MULTI_SOFTPROB: return rv1::OUTPUT_KIND_MULTICLASS_PROBABILITIES;
    default: return rv1::OUTPUT_KIND_REGRESSION;
  }
}

void AddRef(cv1::Lineage* lineage, cv1::ResourceKind kind, const std::string& id, const std::string& name) {
  cv1::ResourceRef* ref = lineage->add_inputs();
  ref->set_kind(kind);
  ref->set_id(id);
  ref->set_name(name);
}

}  // namespace

cv1::Lineage JobLineage(const v1::TrainingJob& job) {
  cv1::Lineage lineage;
  const v1::RunInputs& in = job.resolved_inputs();
  if (!in.dataset_version_id().empty()) {
    AddRef(&lineage, cv1::RESOURCE_KIND_DATASET_VERSION, in.dataset_version_id(), in.dataset());
  }
  for (const std::string& v : in.feature_view_versions()) {
    AddRef(&lineage, cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION, v, v.substr(0, v.find('@')));
  }
  const v1::TriggerCause& cause = job.cause();
  if (!cause.trigger_name().empty()) {
    AddRef(&lineage, cv1::RESOURCE_KIND_PIPELINE_TRIGGER, cause.trigger_name(), cause.trigger_name());
  }
  if (!cause.alert_id().empty()) AddRef(&lineage, cv1::RESOURCE_KIND_ALERT, cause.alert_id(), "");
  lineage.set_principal(job.principal());
  lineage.set_created_at_micros(job.created_at_micros());
  lineage.set_source(absl::StrCat("training job ", job.id()));
  lineage.set_code_version(job.spec().code_version());
  return lineage;
}

rv1::RegisterModelVersionHeader RegistrationHeader(const v1::TrainingJob& job,
                                                   const TrialParams& params,
                                                   const std::string& artifact, int label_type,
                                                   int entity_key_type) {
  const v1::RegisterModelOptions& opts = job.spec().register_model();
  const v1::RunInputs& in = job.resolved_inputs();
  const v1::ModelSignature& sig = job.signature();
  rv1::RegisterModelVersionHeader h;
  h.set_model(opts.model_name());
  h.set_create_model_if_missing(true);
  h.set_flavor(rv1::FLAVOR_XGBOOST);
  const std::string version = XgboostVersion();  // "xgboost 1.7.4"
  h.set_flavor_version(version.substr(version.find(' ') + 1));
  h.set_artifact_format(rv1::ARTIFACT_FORMAT_XGBOOST_JSON);
  h.mutable_expected_artifact()->set_sha256(Sha256Hex(artifact));
  h.mutable_expected_artifact()->set_size_bytes(static_cast<int64_t>(artifact.size()));

  rv1::ModelSignature* s = h.mutable_signature();
  for (const v1::ModelInput& input : sig.inputs()) {
    rv1::SignatureInput* si = s->add_inputs();
    si->set_name(input.name());
    si->set_type(input.type());
    si->set_nullable(true);
    si->set_allow_non_finite(input.type() == cv1::DATA_TYPE_DOUBLE);
    si->set_feature_ref(input.feature_ref());
  }
  rv1::ModelOutput* out = s->mutable_output();
  out->set_kind(OutputKindOf(sig.objective()));
  out->set_name(sig.label_column());
  out->set_label_type(static_cast<cv1::DataType>(label_type));
  out->set_objective(XgbObjectiveName(static_cast<Objective>(sig.objective())));
  if (sig.objective() == v1::OBJECTIVE_MULTI_SOFTPROB) out->set_num_classes(sig.num_class());
  if (!sig.entity_key_column().empty()) {
    s->mutable_entity_key()->set_name(sig.entity_key_column());
    s->mutable_entity_key()->set_type(static_cast<cv1::DataType>(entity_key_type));
    s->mutable_entity_key()->set_role(cv1::COLUMN_ROLE_ENTITY_KEY);
  }

  rv1::ModelLineage* l = h.mutable_lineage();
  l->set_run_id(job.best_run_id());
  l->set_experiment(job.spec().experiment().empty() ? kDefaultExperiment : job.spec().experiment());
  l->set_training_dataset_version(in.dataset_version_id());
  l->set_training_dataset_name(in.dataset());
  for (const std::string& v : in.feature_view_versions()) {
    rv1::FeatureViewVersion* fv = l->add_feature_views();
    fv->set_name(v.substr(0, v.find('@')));
    int64_t n = 0;
    if (absl::SimpleAtoi(v.substr(v.find('@') + 1), &n)) fv->set_version(n);
  }
  l->set_label_column(in.label_column());
  l->set_code_version(in.code_version());
  l->set_trainer(in.trainer());
  l->set_trainer_version(h.flavor_version());
  for (const auto& [k, v] : params) {
    cv1::KeyValue* kv = l->add_params();
    kv->set_key(k);
    kv->set_value(v);
  }
  l->set_random_seed(in.seed());
  const cv1::Lineage lineage = JobLineage(job);
  for (const cv1::ResourceRef& ref : lineage.inputs()) {
    if (ref.kind() == cv1::RESOURCE_KIND_PIPELINE_TRIGGER || ref.kind() == cv1::RESOURCE_KIND_ALERT) {
      *l->add_other_inputs() = ref;
    }
  }
  cv1::ResourceRef* run_ref = l->add_other_inputs();
  run_ref->set_kind(cv1::RESOURCE_KIND_RUN);
  run_ref->set_id(job.best_run_id());

  rv1::Evaluation* eval = h.add_evaluations();
  eval->set_name("test");
  eval->set_dataset_version(in.dataset_version_id());
  for (const auto& [k, v] : job.best_test_metrics()) {
    (*eval->mutable_metrics())[k.rfind("test_", 0) == 0 ? k.substr(5) : k] = v;
  }
  eval->set_row_count(job.test_rows());
  for (const auto& [k, v] : opts.tags()) {
    cv1::KeyValue* kv = h.add_tags();
    kv->set_key(k);
    kv->set_value(v);
  }
  h.mutable_docs()->set_description(opts.description());
  h.mutable_docs()->set_intended_use(opts.intended_use());
  h.mutable_docs()->set_limitations(opts.limitations());
  h.mutable_docs()->set_owner(opts.owner());
  h.set_idempotency_key(job.id());
  return h;
}

}  // namespace mlops::training
