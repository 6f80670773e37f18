#include "services/gateway/batch_scoring.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops::gateway {
namespace {

bool IsVersionId(const std::string& s) {
  if (s.size() != 64) return false;
  for (char ch : s) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  }
  return true;
}

absl::Status CheckShape(const BatchJobSpec& s) {
  if (!IsName(s.model)) return absl::InvalidArgumentError(absl::StrCat("model \"", s.model, "\": not a valid name"));
  if (s.version < 0) return absl::InvalidArgumentError("version: negative");
  if (!IsVersionId(s.input_dataset_version)) {
    return absl::InvalidArgumentError(absl::StrCat("input_dataset_version \"", s.input_dataset_version,
                                                   "\": not a 64-hex-digit version id"));
  }
  if (!IsName(s.output_dataset)) {
    return absl::InvalidArgumentError(
        absl::StrCat("output_dataset \"", s.output_dataset, "\": not a valid name"));
  }
  for (const std::string& c : s.passthrough_columns) {
    if (!IsName(c)) return absl::InvalidArgumentError(absl::StrCat("passthrough_columns: \"", c, "\": not a valid name"));
  }
  if (s.idempotency_key.size() > 128) return absl::InvalidArgumentError("idempotency_key: over 128 chars");
  if (s.feature_source < 0 || s.feature_source > kFeatureSourcePointInTime) {
    return absl::InvalidArgumentError("feature_source: unknown value");
  }
  return absl::OkStatus();
}

}  // namespace

BatchScoring::BatchScoring(ModelCache* models, EndpointDirectory* registry,
                           IngestionClient* ingestion, BatchJobStore* store,
                           BatchScoringOptions options)
    : models_(models),
      registry_(registry),
      ingestion_(ingestion),
      store_(store),
      options_(std::move(options)),
      runner_(models, ingestion, store, options_.runner),
      worker_(std::make_unique<BoundedWorker>(options_.queue_capacity)) {}

BatchScoring::~BatchScoring() { Stop(); }

void BatchScoring::Stop() {
  stop_ = true;
  std::lock_guard<std::mutex> lock(worker_mu_);
  worker_.reset();  // drops queued tasks, joins the running one
}

void BatchScoring::Drain() {
  std::lock_guard<std::mutex> lock(worker_mu_);
  if (worker_ != nullptr) worker_->Drain();
}

bool BatchScoring::Enqueue(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(worker_mu_);
  return worker_ != nullptr && worker_->Submit([this, job_id] { RunJob(job_id); });
}

void BatchScoring::RunJob(const std::string& job_id) {
  absl::StatusOr<BatchJob> job = store_->Get(job_id);
  if (!job.ok()) {
    LogError("batch_job_not_loaded", {{"job_id", job_id}, {"status", job.status().ToString()}});
    return;
  }
  if (job->attempts >= options_.max_attempts) {
    job->state = BatchState::kFailed;
    job->finished_at_micros = options_.runner.now_micros();
    job->error = absl::StrCat("gave up after ", job->attempts,
                              " runs interrupted by gateway restarts");
    if (absl::Status s = store_->Update(*job); !s.ok()) {
      LogError("batch_job_not_saved", {{"job_id", job_id}, {"status", s.ToString()}});
    }
    return;
  }
  runner_.Run(std::move(*job), stop_);
}

absl::Status BatchScoring::Check(const BatchJobSpec& spec) {
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> model,
                         models_->Get(spec.model, spec.version, ""));
  MLOPS_ASSIGN_OR_RETURN(ingestion::v1::DatasetVersion input,
                         ingestion_->GetVersion(spec.input_dataset_version));
  MLOPS_ASSIGN_OR_RETURN(std::optional<ingestion::v1::Dataset> dataset,
                         ingestion_->FindDataset(input.dataset()));
  if (!dataset) return absl::NotFoundError(absl::StrCat("dataset \"", input.dataset(), "\": not found"));
  MLOPS_ASSIGN_OR_RETURN(BatchPlan plan, PlanBatch(model->info.signature, dataset->schema(), spec));
  if (!plan.feature_refs.empty()) {
    BatchFeaturesClient* features = options_.runner.features;
    if (features == nullptr) {
      return absl::UnimplementedError(
          "feature_source POINT_IN_TIME needs the feature service (--features_addr)");
    }
    MLOPS_ASSIGN_OR_RETURN(std::vector<common::v1::DataType> types,
                           features->FeatureTypes(plan.feature_refs, plan.ref_inputs));
    MLOPS_RETURN_IF_ERROR(CheckFetchedTypes(model->info.signature, plan, types));
  }
  MLOPS_ASSIGN_OR_RETURN(std::optional<ingestion::v1::Dataset> output,
                         ingestion_->FindDataset(spec.output_dataset));
  if (output) {
    MLOPS_RETURN_IF_ERROR(CheckOutputSchema(spec.output_dataset, output->schema(), plan.output_schema));
  }
  return absl::OkStatus();
}

absl::StatusOr<BatchJob> BatchScoring::Submit(BatchJobSpec spec, const std::string& principal) {
  MLOPS_RETURN_IF_ERROR(CheckShape(spec));
  if (spec.feature_source == 0) spec.feature_source = kFeatureSourceInputColumns;  // UNSPECIFIED
  if (spec.version == 0) {
    MLOPS_ASSIGN_OR_RETURN(spec.version, registry_->ProductionVersion(spec.model));
  }
  auto same_key = [&]() -> absl::StatusOr<std::optional<BatchJob>> {
    if (spec.idempotency_key.empty()) return std::optional<BatchJob>();
    MLOPS_ASSIGN_OR_RETURN(std::optional<BatchJob> first, store_->FindByIdempotencyKey(spec.idempotency_key));
    if (first && !(first->spec == spec)) {
      return absl::AlreadyExistsError(absl::StrCat("idempotency_key \"", spec.idempotency_key,
                                                   "\": used by ", first->job_id,
                                                   " with other parameters"));
    }
    return first;
  };
  MLOPS_ASSIGN_OR_RETURN(std::optional<BatchJob> first, same_key());
  if (first) return *first;
  MLOPS_RETURN_IF_ERROR(Check(spec));
  if (stop_.load()) return absl::UnavailableError("the gateway is stopping");
  BatchJob job;
  job.job_id = options_.new_job_id();
  job.spec = std::move(spec);
  job.submitted_at_micros = options_.runner.now_micros();
  job.submitted_by = principal;
  absl::Status inserted = store_->Insert(job);
  if (absl::IsAlreadyExists(inserted)) {  // the same key submitted concurrently
    MLOPS_ASSIGN_OR_RETURN(first, same_key());
    if (first) return *first;
  }
  MLOPS_RETURN_IF_ERROR(inserted);
  if (!Enqueue(job.job_id)) {
    job.state = BatchState::kFailed;
    job.finished_at_micros = options_.runner.now_micros();
    job.error = absl::StrCat("RESOURCE_EXHAUSTED: the batch scoring queue is full (",
                             options_.queue_capacity, " jobs)");
    MLOPS_RETURN_IF_ERROR(store_->Update(job));
    return absl::ResourceExhaustedError(job.error);
  }
  LogInfo("batch_job_submitted", {{"job_id", job.job_id}, {"model", job.spec.model},
                                  {"version", std::to_string(job.spec.version)},
                                  {"input", job.spec.input_dataset_version}});
  return job;
}

absl::StatusOr<BatchJob> BatchScoring::Get(const std::string& job_id) { return store_->Get(job_id); }

absl::Status BatchScoring::Restore() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<BatchJob> unfinished, store_->ListUnfinished());
  for (BatchJob& job : unfinished) {
    if (Enqueue(job.job_id)) {
      LogInfo("batch_job_resumed", {{"job_id", job.job_id}, {"attempts", std::to_string(job.attempts)}});
      continue;
    }
    job.state = BatchState::kFailed;
    job.finished_at_micros = options_.runner.now_micros();
    job.error = "not resumed after a gateway restart: the batch scoring queue was full";
    MLOPS_RETURN_IF_ERROR(store_->Update(job));
  }
  return absl::OkStatus();
}

}  // namespace mlops::gateway
