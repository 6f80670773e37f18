#include "services/monitoring/monitoring_service.h"

#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/auth/token.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/monitoring/proto_convert.h"
#include "services/monitoring/reference_builder.h"

namespace mlops::monitoring {


grpc::Status MonitoringServiceImpl::Reply(std::string_view rpc, const absl::Status& s) {
  if (!s.ok()) LogInfo("rpc_failed", {{"rpc", std::string(rpc)}, {"status", s.ToString()}});
  return ToGrpcStatus(s);
}

MonitoringServiceImpl::MonitoringServiceImpl(MonitoringStore* store, WindowStore* windows,
                                             PredictionLogWriter* writer,
                                             const Authorizer* authorizer,
                                             PredictionCounters* counters,
                                             MonitoringServiceOptions options)
    : store_(store),
      windows_(windows),
      writer_(writer),
      authorizer_(authorizer),
      counters_(counters),
      options_(std::move(options)),
      pending_(options_.max_pending_labels) {
  AlertEvaluatorOptions alert_options;
  alert_options.now_micros = [this] { return Now(); };
  alert_options.interval_micros = options_.alert_eval_interval_micros;
  alerts_ = std::make_unique<AlertEvaluator>(store_, this, &hub_, options_.alert_actions,
                                             options_.alert_gauges, std::move(alert_options));
}

int64_t MonitoringServiceImpl::Now() const {
  return options_.now_micros ? options_.now_micros() : absl::ToUnixMicros(absl::Now());
}

absl::StatusOr<std::shared_ptr<const MonitoringServiceImpl::LoadedReference>>
MonitoringServiceImpl::Reference(const std::string& model, int64_t version) {
  {
    absl::MutexLock lock(&mu_);
    auto it = references_.find(RefKey(model, version));
    if (it != references_.end()) return it->second;
  }
  MLOPS_ASSIGN_OR_RETURN(std::optional<StoredReference> stored,
                         store_->GetReference(model, version));
  if (!stored.has_value()) return std::shared_ptr<const LoadedReference>();
  auto loaded = std::make_shared<LoadedReference>();
  if (!loaded->reference.ParseFromString(stored->reference)) {
    return absl::InternalError(
        absl::StrCat("stored reference of ", model, "@", version, " does not parse"));
  }
  MLOPS_ASSIGN_OR_RETURN(loaded->data, ReferenceDataOf(loaded->reference, stored->samples));
  loaded->binning = std::make_shared<WindowBinning>(BinningOf(loaded->data));
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = references_.emplace(RefKey(model, version), std::move(loaded));
  return it->second;
}

absl::StatusOr<v1::MonitoringConfig> MonitoringServiceImpl::Config(const std::string& model) {
  {
    absl::MutexLock lock(&mu_);
    auto it = configs_.find(model);
    if (it != configs_.end()) return it->second;
  }
  MLOPS_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->GetConfig(model));
  v1::MonitoringConfig config;
  config.set_model(model);
  if (stored.has_value() && !config.ParseFromString(*stored)) {
    return absl::InternalError(absl::StrCat("stored config of ", model, " does not parse"));
  }
  absl::MutexLock lock(&mu_);
  configs_[model] = config;
  return config;
}

// ---------------------------------------------------------------------------
// References

absl::Status MonitoringServiceImpl::DoSetReference(const std::string& principal,
                                                   const v1::SetReferenceRequest& req,
                                                   const std::string& automatic_from,
                                                   v1::Reference* resp) {
  MLOPS_RETURN_IF_ERROR(ValidateModelVersion(req.model(), req.version()));
  MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig stored_config, Config(req.model()));
  const v1::MonitoringConfig config = EffectiveConfig(stored_config);
  const int64_t max_samples = req.max_raw_values_per_feature() == 0
                                  ? config.max_raw_values_per_feature()
                                  : req.max_raw_values_per_feature();
  v1::Reference ref;
  ref.set_model(req.model());
  ref.set_version(req.version());
  StoredReference stored;
  switch (req.source_case()) {
    case v1::SetReferenceRequest::kProfile:
      MLOPS_RETURN_IF_ERROR(ValidateReferenceProfile(req.profile()));
      ref.set_source(v1::REFERENCE_SOURCE_INLINE_PROFILE);
      *ref.mutable_profile() = req.profile();
      break;
    case v1::SetReferenceRequest::kRows: {
      MLOPS_ASSIGN_OR_RETURN(BuiltReference built, ReferenceFromRows(req.rows(), max_samples));
      ref.set_source(v1::REFERENCE_SOURCE_INLINE_ROWS);
      *ref.mutable_profile() = std::move(built.profile);
      int64_t kept = 0;
      for (const auto& [name, values] : built.samples) {
        kept = std::max<int64_t>(kept, static_cast<int64_t>(values.size()));
      }
      ref.set_raw_values_per_feature(kept);
      stored.samples = std::move(built.samples);
      break;
    }
    case v1::SetReferenceRequest::kDatasetVersion: {
      if (!IsSha256Hex(req.dataset_version())) {
        return absl::InvalidArgumentError("dataset_version: not 64 lowercase hex characters");
      }
      if (options_.profiles == nullptr) {
        return absl::FailedPreconditionError(
            "dataset_version: no ingestion peer configured; pass an inline profile or rows");
      }
      MLOPS_ASSIGN_OR_RETURN(common::v1::DatasetProfile profile,
                             options_.profiles->GetDatasetProfile(req.dataset_version()));
      MLOPS_RETURN_IF_ERROR(ValidateReferenceProfile(profile));
      ref.set_source(v1::REFERENCE_SOURCE_DATASET_VERSION);
      ref.set_dataset_version(req.dataset_version());
      *ref.mutable_profile() = std::move(profile);
      break;
    }
    default:
      return absl::InvalidArgumentError("source: exactly one of dataset_version, profile, rows");
  }
  if (req.has_prediction_profile()) {
    const common::v1::ColumnProfile& p = req.prediction_profile();
    if (p.histogram().edges().empty()) {
      return absl::InvalidArgumentError("prediction_profile: no histogram edges");
    }
    *ref.mutable_prediction_profile() = p;
  }
  if (!automatic_from.empty()) {
    // Built from the training dataset version (its profile, or the model's
    // inputs computed over its rows): the origin, whatever the inline form.
    ref.set_automatic(true);
    ref.set_source(v1::REFERENCE_SOURCE_DATASET_VERSION);
    ref.set_dataset_version(automatic_from);
  }
  ref.set_set_at_micros(Now());
  ref.set_set_by(principal);
  stored.model = req.model();
  stored.version = req.version();
  stored.set_at_micros = ref.set_at_micros();
  stored.reference = ref.SerializeAsString();
  auto loaded = std::make_shared<LoadedReference>();
  loaded->reference = ref;
  MLOPS_ASSIGN_OR_RETURN(loaded->data, ReferenceDataOf(ref, stored.samples));
  loaded->binning = std::make_shared<WindowBinning>(BinningOf(loaded->data));
  MLOPS_RETURN_IF_ERROR(store_->PutReference(stored));
  {
    absl::MutexLock lock(&mu_);
    references_[RefKey(req.model(), req.version())] = std::move(loaded);
  }
  *resp = std::move(ref);
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::SetReference(grpc::ServerContext* ctx,
                                                 const v1::SetReferenceRequest* req,
                                                 v1::Reference* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return Reply("SetReference", who.status());
  return Reply("SetReference", DoSetReference(who->name, *req, /*automatic_from=*/"", resp));
}

absl::StatusOr<bool> MonitoringServiceImpl::HasReference(const std::string& model,
                                                         int64_t version) {
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedReference> ref, Reference(model, version));
  return ref != nullptr;
}

absl::StatusOr<v1::Reference> MonitoringServiceImpl::SetAutomaticReference(
    const v1::SetReferenceRequest& req, const std::string& dataset_version) {
  if (!IsSha256Hex(dataset_version)) {
    return absl::InvalidArgumentError("dataset_version: not 64 lowercase hex characters");
  }
  if (req.source_case() == v1::SetReferenceRequest::kDatasetVersion) {
    return absl::InvalidArgumentError("source: an automatic reference is given inline");
  }
  v1::Reference ref;
  MLOPS_RETURN_IF_ERROR(DoSetReference(kAutomaticReferencePrincipal, req, dataset_version, &ref));
  return ref;
}

grpc::Status MonitoringServiceImpl::GetReference(grpc::ServerContext* ctx,
                                                 const v1::GetReferenceRequest* req,
                                                 v1::Reference* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("GetReference", who.status());
  absl::Status s = ValidateModelVersion(req->model(), req->version());
  if (!s.ok()) return Reply("GetReference", s);
  absl::StatusOr<std::shared_ptr<const LoadedReference>> ref =
      Reference(req->model(), req->version());
  if (!ref.ok()) return Reply("GetReference", ref.status());
  if (*ref == nullptr) {
    return Reply("GetReference", absl::NotFoundError(absl::StrCat(
                                     "no reference set for ", req->model(), "@", req->version())));
  }
  *resp = (*ref)->reference;
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Drift

absl::Status MonitoringServiceImpl::DoDriftReport(const v1::GetDriftReportRequest& req,
                                                  v1::DriftReport* resp) {
  const int64_t started = Now();
  MLOPS_RETURN_IF_ERROR(ingestion::ValidateName("model", req.model()));
  if (req.version() < 0) return absl::InvalidArgumentError("version: negative");
  int64_t version = req.version();
  if (version == 0) {
    std::optional<int64_t> latest = windows_->LatestVersion(req.model());
    if (!latest.has_value()) {
      return absl::NotFoundError(absl::StrCat("no predictions logged for model ", req.model()));
    }
    version = *latest;
  }
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedReference> ref,
                         Reference(req.model(), version));
  if (ref == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no reference set for ", req.model(), "@", version));
  }
  MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig stored_config, Config(req.model()));
  const v1::MonitoringConfig config = EffectiveConfig(stored_config);
  std::vector<std::string> features(req.features().begin(), req.features().end());
  for (size_t i = 0; i < features.size(); ++i) {
    if (ref->data.profile.Find(features[i]) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("features[", i, "]: unknown feature \"", features[i], "\""));
    }
  }
  const int64_t w = config.window_micros();
  int64_t start = 0;
  int64_t end = 0;
  switch (req.window_case()) {
    case v1::GetDriftReportRequest::kWindowStartMicros:
      start = req.window_start_micros();
      if (start % w != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "window_start_micros: ", start, " is not on a boundary of the ", w, " micros windows"));
      }
      end = start + w;
      break;
    case v1::GetDriftReportRequest::kRange:
      start = req.range().start_micros();
      end = req.range().end_micros();
      if (end != 0 && start > end) {
        return absl::InvalidArgumentError("range: start_micros after end_micros");
      }
      break;
    default: {
      std::optional<int64_t> latest =
          windows_->LatestWindowStart(req.model(), version, Now(), req.include_open_window());
      if (!latest.has_value()) {
        return absl::NotFoundError(absl::StrCat("no ", req.include_open_window() ? "" : "closed ",
                                                "window with data for ", req.model(), "@",
                                                version));
      }
      start = *latest;
      end = start + w;
    }
  }
  int merged = 0;
  MLOPS_ASSIGN_OR_RETURN(WindowData window,
                         windows_->Merge(req.model(), version, start, end, &merged));
  const WindowDriftReport report =
      ComputeWindowDrift(ref->data, window, features, DriftSettingsFromConfig(config));
  resp->set_model(req.model());
  resp->set_version(version);
  resp->set_window_start_micros(window.start_micros);
  resp->set_window_end_micros(window.end_micros);
  resp->set_windows_merged(merged);
  resp->set_current_row_count(window.rows);
  resp->set_reference_row_count(ref->reference.profile().row_count());
  resp->set_reference_dataset_version(ref->reference.dataset_version());
  DriftReportToProto(report, req.omit_histograms(), resp);
  resp->set_computed_at_micros(Now());
  resp->set_duration_micros(resp->computed_at_micros() - started);
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::GetDriftReport(grpc::ServerContext* ctx,
                                                   const v1::GetDriftReportRequest* req,
                                                   v1::DriftReport* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return Reply("GetDriftReport", who.status());
  return Reply("GetDriftReport", DoDriftReport(*req, resp));
}

}  // namespace mlops::monitoring
