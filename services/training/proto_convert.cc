#include "services/training/proto_convert.h"

namespace mlops::training {

void ToProto(const Experiment& in, v1::Experiment* out) {
  out->set_name(in.name);
  out->set_description(in.description);
  for (const auto& [k, v] : in.tags) (*out->mutable_tags())[k] = v;
  out->set_created_at_micros(in.created_at_micros);
  out->set_principal(in.principal);
  out->set_run_count(in.run_count);
}

void ToProto(const ArtifactRef& in, v1::ArtifactRef* out) {
  out->set_sha256(in.sha256);
  out->set_size_bytes(in.size_bytes);
  out->set_path(in.path);
  out->set_content_type(in.content_type);
  out->set_run_id(in.run_id);
  out->set_created_at_micros(in.created_at_micros);
}

void ToProto(const MetricPoint& in, v1::MetricPoint* out) {
  out->set_key(in.key);
  out->set_value(in.value);
  out->set_step(in.step);
  out->set_timestamp_micros(in.timestamp_micros);
}

void ToProto(const Run& in, v1::Run* out) {
  out->set_id(in.id);
  out->set_experiment(in.experiment);
  out->set_name(in.name);
  out->set_status(static_cast<v1::RunStatus>(in.status));
  out->set_principal(in.principal);
  out->set_created_at_micros(in.created_at_micros);
  out->set_start_time_micros(in.start_time_micros);
  out->set_end_time_micros(in.end_time_micros);
  for (const auto& [k, v] : in.params) (*out->mutable_params())[k] = v;
  for (const auto& [k, v] : in.tags) (*out->mutable_tags())[k] = v;
  for (const MetricSummary& m : in.metrics) {
    v1::MetricSummary* s = out->add_metrics();
    s->set_key(m.key);
    s->set_value(m.value);
    s->set_step(m.step);
    s->set_timestamp_micros(m.timestamp_micros);
    s->set_min(m.min);
    s->set_max(m.max);
    s->set_count(m.count);
  }
  const RunInputs& i = in.inputs;
  v1::RunInputs* o = out->mutable_inputs();
  o->set_dataset(i.dataset);
  o->set_dataset_version_id(i.dataset_version_id);
  for (const auto& r : i.feature_refs) o->add_feature_refs(r);
  for (const auto& v : i.feature_view_versions) o->add_feature_view_versions(v);
  for (const auto& [k, v] : i.source_dataset_versions) (*o->mutable_source_dataset_versions())[k] = v;
  for (const auto& c : i.dataset_feature_columns) o->add_dataset_feature_columns(c);
  o->set_label_column(i.label_column);
  o->set_trainer(i.trainer);
  o->set_trainer_version(i.trainer_version);
  o->set_code_version(i.code_version);
  o->set_seed(i.seed);
  v1::SplitSpec* split = o->mutable_split();
  split->set_kind(static_cast<v1::SplitKind>(i.split.kind));
  split->set_test_fraction(i.split.test_fraction);
  split->set_validation_fraction(i.split.validation_fraction);
  split->set_seed(i.split.seed);
  split->set_time_cutoff_micros(i.split.time_cutoff_micros);
  out->set_job_id(in.job_id);
  out->set_trial_index(in.trial_index);
  out->set_failure_reason(in.failure_reason);
  for (const ArtifactRef& a : in.artifacts) ToProto(a, out->add_artifacts());
  out->set_attempt(in.attempt);
  // Lineage: what the run was made from, by whom, when, from which code.
  mlops::common::v1::Lineage* lineage = out->mutable_lineage();
  if (!i.dataset_version_id.empty()) {
    auto* ref = lineage->add_inputs();
    ref->set_kind(mlops::common::v1::RESOURCE_KIND_DATASET_VERSION);
    ref->set_id(i.dataset_version_id);
    ref->set_name(i.dataset);
  }
  for (const auto& v : i.feature_view_versions) {
    auto* ref = lineage->add_inputs();
    ref->set_kind(mlops::common::v1::RESOURCE_KIND_FEATURE_VIEW_VERSION);
    ref->set_id(v);
  }
  lineage->set_principal(in.principal);
  lineage->set_created_at_micros(in.created_at_micros);
  lineage->set_code_version(i.code_version);
}

RunInputs FromProto(const v1::RunInputs& in) {
  RunInputs out;
  out.dataset = in.dataset();
  out.dataset_version_id = in.dataset_version_id();
  out.feature_refs.assign(in.feature_refs().begin(), in.feature_refs().end());
  out.feature_view_versions.assign(in.feature_view_versions().begin(),
                                   in.feature_view_versions().end());
  for (const auto& [k, v] : in.source_dataset_versions()) out.source_dataset_versions[k] = v;
  out.dataset_feature_columns.assign(in.dataset_feature_columns().begin(),
                                     in.dataset_feature_columns().end());
  out.label_column = in.label_column();
  out.trainer = in.trainer();
  out.trainer_version = in.trainer_version();
  out.code_version = in.code_version();
  out.seed = in.seed();
  out.split.kind = static_cast<int>(in.split().kind());
  out.split.test_fraction = in.split().test_fraction();
  out.split.validation_fraction = in.split().validation_fraction();
  out.split.seed = in.split().seed();
  out.split.time_cutoff_micros = in.split().time_cutoff_micros();
  return out;
}

RunFilter FromProto(const v1::ListRunsRequest& in) {
  RunFilter f;
  f.experiments.assign(in.experiments().begin(), in.experiments().end());
  for (int s : in.statuses()) f.statuses.push_back(static_cast<RunStatus>(s));
  for (const auto& p : in.params()) f.params.emplace_back(p.key(), p.value());
  for (const auto& m : in.metrics()) {
    f.metrics.push_back(MetricFilter{m.key(), static_cast<Comparison>(m.op()), m.value()});
  }
  for (const auto& t : in.tags()) f.tags.emplace_back(t.key(), t.value());
  f.job_id = in.job_id();
  f.started_after_micros = in.started_after_micros();
  f.started_before_micros = in.started_before_micros();
  f.order_metric = in.order_by().metric();
  f.ascending = in.order_by().ascending();
  return f;
}

MetricPoint FromProto(const v1::MetricPoint& in) {
  return MetricPoint{in.key(), in.value(), in.step(), in.timestamp_micros()};
}

}  // namespace mlops::training
