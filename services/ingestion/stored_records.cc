#include "services/ingestion/stored_records.h"

#include "common/stats/profile_proto.h"
#include "common/status/status_macros.h"

namespace mlops::ingestion {

absl::StatusOr<stats::DatasetProfile> StoredProfile(const std::string& bytes) {
  MLOPS_ASSIGN_OR_RETURN(auto p, ParseStored<common::v1::DatasetProfile>(bytes, "profile"));
  return stats::DatasetProfileFromProto(p);
}

absl::StatusOr<v1::DatasetVersion> VersionToProto(const VersionRecord& v, bool with_report) {
  MLOPS_ASSIGN_OR_RETURN(v1::DatasetVersion out, ParseStored<v1::DatasetVersion>(v.record, "version"));
  out.set_id(v.id);
  out.set_dataset(v.dataset);
  out.set_sequence(v.sequence);
  out.set_parent_id(v.parent_id);
  out.set_row_count(v.row_count);
  out.set_batch_row_count(v.batch_row_count);
  if (with_report && !v.report.empty()) {
    MLOPS_ASSIGN_OR_RETURN(*out.mutable_report(),
                           ParseStored<v1::ValidationReport>(v.report, "report"));
  }
  return out;
}

}  // namespace mlops::ingestion
