#include "services/gateway/batch_runner.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops::gateway {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace inv1 = ::mlops::ingestion::v1;
namespace fv1 = ::mlops::features::v1;

inv1::BatchHeader OutputHeader(const BatchJob& job, const std::string& input_dataset) {
  const BatchJobSpec& s = job.spec;
  const std::string model_version = absl::StrCat(s.model, "@", s.version);
  inv1::BatchHeader h;
  h.set_dataset(s.output_dataset);
  h.set_mode(inv1::INGEST_MODE_REPLACE);
  h.set_idempotency_key(job.job_id);
  h.set_source(absl::StrCat("batch scoring ", job.job_id, ": model ", model_version,
                            " on dataset version ", s.input_dataset_version, " (", input_dataset,
                            ")"));
  cv1::ResourceRef* model = h.add_lineage_inputs();
  model->set_kind(cv1::RESOURCE_KIND_MODEL_VERSION);
  model->set_id(model_version);
  model->set_name(s.model);
  cv1::ResourceRef* input = h.add_lineage_inputs();
  input->set_kind(cv1::RESOURCE_KIND_DATASET_VERSION);
  input->set_id(s.input_dataset_version);
  input->set_name(input_dataset);
  (*h.mutable_annotations())["batch_job_id"] = job.job_id;
  (*h.mutable_annotations())["model_version"] = model_version;
  (*h.mutable_annotations())["input_dataset_version"] = s.input_dataset_version;
  return h;
}

// The join's header against the plan: the input version asked for, one
// column per read column and ref, each fetched type able to feed its input.
absl::Status CheckJoinHeader(const ModelSignature& sig, const BatchPlan& plan,
                             const std::string& input_version,
                             const fv1::HistoricalFeaturesHeader& header) {
  const std::size_t first = plan.read_columns.size();
  if (header.input_dataset_version_id() != input_version ||
      header.schema().columns_size() != static_cast<int>(first + plan.feature_refs.size())) {
    return absl::InternalError(absl::StrCat(
        "features: the point-in-time join answered ", header.schema().columns_size(),
        " columns of version ", header.input_dataset_version_id(), "; asked ",
        first + plan.feature_refs.size(), " of ", input_version));
  }
  std::vector<cv1::DataType> types;
  for (std::size_t k = 0; k < plan.feature_refs.size(); ++k) {
    types.push_back(header.schema().columns(static_cast<int>(first + k)).type());
  }
  return CheckFetchedTypes(sig, plan, types);
}

// The view versions the join used join the output version's lineage.
void AddFeatureLineage(const fv1::HistoricalFeaturesHeader& header, inv1::BatchHeader* out) {
  std::string used;
  for (const fv1::ViewVersionUsed& v : header.views()) {
    cv1::ResourceRef* ref = out->add_lineage_inputs();
    ref->set_kind(cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION);
    ref->set_id(absl::StrCat(v.view(), "@", v.version()));
    ref->set_name(v.view());
    absl::StrAppend(&used, used.empty() ? "" : ", ", v.view(), "@", v.version(), " (source ",
                    v.source_dataset_version_id(), ")");
  }
  (*out->mutable_annotations())["feature_views"] = used;
  out->set_source(absl::StrCat(out->source(), ", point-in-time features of ", used));
}

}  // namespace

BatchJobRunner::BatchJobRunner(ModelCache* models, IngestionClient* ingestion,
                               BatchJobStore* store, BatchRunnerOptions options)
    : models_(models), ingestion_(ingestion), store_(store), options_(std::move(options)) {}

void BatchJobRunner::SaveProgress(BatchJob& job, bool force) {
  const int64_t now = options_.now_micros();
  if (!force && now - last_saved_micros_ < options_.progress_interval_micros) return;
  last_saved_micros_ = now;
  const double seconds = std::max(1e-6, static_cast<double>(now - job.started_at_micros) / 1e6);
  job.rows_per_second = static_cast<double>(job.rows_scored) / seconds;
  if (absl::Status s = store_->Update(job); !s.ok()) {
    LogWarn("batch_job_progress_not_saved", {{"job_id", job.job_id}, {"status", s.ToString()}});
  }
}

BatchJob BatchJobRunner::Run(BatchJob job, const std::atomic<bool>& stop) {
  job.state = BatchState::kRunning;
  job.started_at_micros = options_.now_micros();
  job.attempts += 1;
  job.rows_scored = 0;
  SaveProgress(job, true);
  LogInfo("batch_job_started", {{"job_id", job.job_id}, {"attempt", std::to_string(job.attempts)}});
  absl::Status s = Execute(job, stop);
  if (!s.ok() && stop.load()) {
    LogInfo("batch_job_interrupted", {{"job_id", job.job_id}, {"rows_scored", std::to_string(job.rows_scored)}});
    return job;  // stays RUNNING: run again at the next start
  }
  job.finished_at_micros = options_.now_micros();
  job.state = s.ok() ? BatchState::kSucceeded : BatchState::kFailed;
  if (!s.ok()) job.error = absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
  SaveProgress(job, true);
  LogInfo("batch_job_finished", {{"job_id", job.job_id},
                                 {"state", s.ok() ? "succeeded" : "failed"},
                                 {"rows", std::to_string(job.rows_scored)},
                                 {"rows_per_second", std::to_string(job.rows_per_second)},
                                 {"error", job.error}});
  return job;
}

absl::Status BatchJobRunner::EnsureOutputDataset(const BatchJob& job, const BatchPlan& plan) {
  const std::string& name = job.spec.output_dataset;
  for (int attempt = 0; attempt < 2; ++attempt) {
    MLOPS_ASSIGN_OR_RETURN(std::optional<inv1::Dataset> existing, ingestion_->FindDataset(name));
    if (existing) return CheckOutputSchema(name, existing->schema(), plan.output_schema);
    inv1::CreateDatasetRequest req;
    req.set_name(name);
    req.set_description(absl::StrCat("scores written by batch scoring (first: ", job.job_id, ")"));
    *req.mutable_schema() = plan.output_schema;
    absl::StatusOr<inv1::Dataset> created = ingestion_->CreateDataset(req);
    if (created.ok()) return absl::OkStatus();
    if (!absl::IsAlreadyExists(created.status())) return created.status();
    // Created meanwhile by another job: check its schema.
  }
  return absl::AbortedError(absl::StrCat("output dataset \"", name, "\": created and gone"));
}

absl::Status BatchJobRunner::Execute(BatchJob& job, const std::atomic<bool>& stop) {
  const BatchJobSpec& spec = job.spec;
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> model,
                         models_->Get(spec.model, spec.version, ""));
  const ModelSignature& sig = model->info.signature;
  MLOPS_ASSIGN_OR_RETURN(inv1::DatasetVersion input, ingestion_->GetVersion(spec.input_dataset_version));
  MLOPS_ASSIGN_OR_RETURN(std::optional<inv1::Dataset> dataset, ingestion_->FindDataset(input.dataset()));
  if (!dataset) return absl::NotFoundError(absl::StrCat("input dataset \"", input.dataset(), "\": gone"));
  MLOPS_ASSIGN_OR_RETURN(BatchPlan plan, PlanBatch(sig, dataset->schema(), spec));
  MLOPS_RETURN_IF_ERROR(EnsureOutputDataset(job, plan));

  std::unique_ptr<VersionWriter> writer = ingestion_->NewWriter();
  inv1::BatchHeader out_header = OutputHeader(job, input.dataset());
  bool started = false;
  // Once the input's row count is known: the output stream starts.
  auto start = [&](int64_t rows_total) -> absl::Status {
    job.rows_total = rows_total;
    SaveProgress(job, true);
    MLOPS_RETURN_IF_ERROR(writer->Start(out_header));
    started = true;
    return absl::OkStatus();
  };
  const std::size_t cols = sig.inputs.size();
  std::vector<float> values;
  std::vector<cv1::Row> out_rows;
  auto score = [&](const google::protobuf::RepeatedPtrField<cv1::Row>& rows,
                   int64_t first_row_index) -> absl::Status {
    if (stop.load()) return absl::CancelledError("the gateway is stopping");
    const std::size_t n = static_cast<std::size_t>(rows.size());
    if (n == 0) return absl::OkStatus();
    values.clear();
    values.reserve(n * cols);
    for (std::size_t i = 0; i < n; ++i) {
      MLOPS_RETURN_IF_ERROR(AppendModelInputs(sig, plan, rows.Get(static_cast<int>(i)),
                                              first_row_index + static_cast<int64_t>(i), &values));
    }
    MLOPS_ASSIGN_OR_RETURN(xgb::Prediction p, model->model->Predict(values.data(), n, cols));
    out_rows.clear();
    for (std::size_t i = 0; i < n; ++i) {
      out_rows.push_back(OutputRow(sig, plan, rows.Get(static_cast<int>(i)),
                                   p.values.data() + i * p.outputs, p.outputs));
    }
    MLOPS_RETURN_IF_ERROR(writer->Write(out_rows));
    job.rows_scored += static_cast<int64_t>(n);
    SaveProgress(job, false);
    return absl::OkStatus();
  };
  if (plan.feature_refs.empty()) {
    MLOPS_RETURN_IF_ERROR(ingestion_->Read(
        spec.input_dataset_version, plan.read_columns,
        [&](const inv1::ReadHeader& header) { return start(header.row_count()); },
        [&](const inv1::ReadChunk& chunk) { return score(chunk.rows(), chunk.first_row_index()); }));
  } else {
    if (options_.features == nullptr) {
      return absl::FailedPreconditionError(
          "feature_source POINT_IN_TIME needs the feature service (--features_addr)");
    }
    HistoricalRead read{input.dataset(), spec.input_dataset_version, plan.read_columns,
                        plan.entity_key_column, plan.timestamp_column, plan.feature_refs};
    auto on_header = [&](const fv1::HistoricalFeaturesHeader& header) -> absl::Status {
      MLOPS_RETURN_IF_ERROR(CheckJoinHeader(sig, plan, spec.input_dataset_version, header));
      AddFeatureLineage(header, &out_header);
      return start(header.row_count());
    };
    MLOPS_RETURN_IF_ERROR(options_.features->Read(
        read, on_header,
        [&](const fv1::FeatureRowChunk& chunk) { return score(chunk.rows(), chunk.first_row_index()); }));
  }
  if (!started) return absl::InternalError("the input was read without a header");
  if (job.rows_scored != job.rows_total) {
    return absl::DataLossError(absl::StrCat("read ", job.rows_scored, " rows of ", job.rows_total));
  }
  MLOPS_ASSIGN_OR_RETURN(inv1::DatasetVersion written, writer->Finish());
  job.output_dataset_version = written.id();
  return absl::OkStatus();
}

}  // namespace mlops::gateway
