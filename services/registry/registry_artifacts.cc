// Registry: artifacts and version registration (see registry.h).
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/artifact_import.h"
#include "services/registry/registry.h"

namespace mlops::registry {

absl::Status Registry::PrecheckVersion(const NewVersion& nv) {
  for (const EvaluationRecord& e : nv.record.evaluations) {
    for (const auto& [metric, value] : e.metrics) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError(absl::StrCat("evaluation \"", e.name, "\" metric \"",
                                                       metric, "\": NaN/inf not allowed"));
      }
    }
  }
  if (!nv.create_model_if_missing) {
    MLOPS_RETURN_IF_ERROR(store_->GetModel(nv.record.model).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ArtifactWriter>> Registry::BeginArtifactUpload(
    const std::string& sha256, int64_t size_bytes) {
  if (size_bytes > options_.max_artifact_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "artifact larger than the server limit of ", options_.max_artifact_bytes, " bytes"));
  }
  return artifacts_->Begin(sha256, size_bytes, options_.max_artifact_bytes);
}

absl::StatusOr<VersionRecord> Registry::RegisterVersion(const Principal& who, NewVersion nv) {
  VersionRecord& v = nv.record;
  MLOPS_RETURN_IF_ERROR(PrecheckVersion(nv));
  if (!nv.import_uri.empty()) {
    ArtifactImportOptions import{options_.artifact_import_dirs, options_.max_artifact_bytes};
    MLOPS_RETURN_IF_ERROR(ImportFileArtifact(*artifacts_, nv.import_uri, v.artifact_sha256,
                                             v.artifact_size, import, nv.reference_field)
                              .status());
  } else if (!nv.by_reference) {
    MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactWriter> w,
                           BeginArtifactUpload(v.artifact_sha256, v.artifact_size));
    MLOPS_RETURN_IF_ERROR(w->Append(nv.artifact_bytes));
    MLOPS_RETURN_IF_ERROR(w->Commit().status());
    std::string().swap(nv.artifact_bytes);
  }
  // Whichever backend: the version references a stored artifact by sha256.
  MLOPS_ASSIGN_OR_RETURN(std::optional<StoredArtifact> stored, artifacts_->Stat(v.artifact_sha256));
  if (!stored.has_value()) {
    return absl::NotFoundError(absl::StrCat("artifact ", v.artifact_sha256, " is not stored"));
  }
  if (v.artifact_size != 0 && v.artifact_size != stored->size_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("artifact size ", v.artifact_size,
                                                   " differs from the stored artifact's ",
                                                   stored->size_bytes));
  }
  v.artifact_size = stored->size_bytes;
  v.created_at_micros = Now();
  v.created_by = who.name;
  for (EvaluationRecord& e : v.evaluations) {
    if (e.name.empty()) e.name = "test";
    e.recorded_at_micros = v.created_at_micros;
  }
  AuditEntry e = Audit(who, kAuditVersionRegistered, v.model, 0, "");
  MLOPS_ASSIGN_OR_RETURN(VersionRecord out, store_->RegisterVersion(nv, e));
  if (metrics_ != nullptr) {
    metrics_->VersionRegistered();
    metrics_->AuditEntries(kAuditVersionRegistered);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ArtifactReader>> Registry::OpenArtifact(
    const Principal& who, const std::string& sha256, const std::string& model, int64_t version,
    const std::string& purpose, const std::string& endpoint, int64_t offset) {
  std::string sha = sha256;
  if (!model.empty()) {
    MLOPS_ASSIGN_OR_RETURN(VersionRecord v, store_->GetVersion(model, version));
    if (!sha.empty() && sha != v.artifact_sha256) {
      return absl::InvalidArgumentError(absl::StrCat("sha256 ", sha, " is not the artifact of ",
                                                     model, "@", version, " (",
                                                     v.artifact_sha256, ")"));
    }
    sha = v.artifact_sha256;
  }
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactReader> reader, artifacts_->Open(sha, offset));
  AuditEntry e = Audit(who, kAuditArtifactRead, model, version, "");
  e.endpoint = endpoint;
  e.details_json = absl::StrCat("{\"sha256\":\"", sha, "\",\"purpose\":", JsonQuote(purpose), "}");
  MLOPS_RETURN_IF_ERROR(store_->RecordAudit(e));
  if (metrics_ != nullptr) metrics_->AuditEntries(kAuditArtifactRead);
  return reader;
}

absl::StatusOr<std::string> Registry::ReadArtifact(const Principal& who,
                                                   const std::string& sha256,
                                                   const std::string& model, int64_t version,
                                                   const std::string& purpose,
                                                   const std::string& endpoint) {
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactReader> r,
                         OpenArtifact(who, sha256, model, version, purpose, endpoint, 0));
  return ReadRest(*r);
}

}  // namespace mlops::registry
