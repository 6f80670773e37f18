#include "services/gateway/batch_convert.h"

namespace mlops::gateway {

namespace iv1 = ::mlops::inference::v1;

BatchJobSpec SpecFromProto(const iv1::SubmitBatchScoringRequest& req) {
  BatchJobSpec s;
  s.model = req.model();
  s.version = req.version();
  s.input_dataset_version = req.input_dataset_version();
  s.feature_source = static_cast<int>(req.feature_source());
  s.output_dataset = req.output_dataset();
  s.passthrough_columns.assign(req.passthrough_columns().begin(), req.passthrough_columns().end());
  s.output_prefix = req.output_prefix();
  s.idempotency_key = req.idempotency_key();
  return s;
}

void JobToProto(const BatchJob& job, iv1::BatchScoringJob* out) {
  out->set_job_id(job.job_id);
  out->set_model(job.spec.model);
  out->set_version(job.spec.version);
  out->set_input_dataset_version(job.spec.input_dataset_version);
  out->set_feature_source(static_cast<iv1::BatchFeatureSource>(job.spec.feature_source));
  out->set_output_dataset(job.spec.output_dataset);
  out->set_output_dataset_version(job.output_dataset_version);
  out->set_state(static_cast<iv1::BatchJobState>(static_cast<int>(job.state)));
  out->set_rows_total(job.rows_total);
  out->set_rows_scored(job.rows_scored);
  out->set_rows_per_second(job.rows_per_second);
  out->set_submitted_at_micros(job.submitted_at_micros);
  out->set_started_at_micros(job.started_at_micros);
  out->set_finished_at_micros(job.finished_at_micros);
  out->set_submitted_by(job.submitted_by);
  out->set_error(job.error);
}

}  // namespace mlops::gateway
