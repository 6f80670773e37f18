#pragma once
// Decoding what the ingestion store keeps as serialized protos (version
// records, reports, profiles). Shared by Ingestion and BatchSession. Pure
// functions, thread-safe.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/stats/column_profile.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

// A stored proto of type M; Internal ("corrupt stored <what>") if it does not parse.
template <class M>
absl::StatusOr<M> ParseStored(const std::string& bytes, const char* what) {
  M m;
  if (!m.ParseFromString(bytes)) return absl::InternalError(absl::StrCat("corrupt stored ", what));
  return m;
}

// A stored DatasetProfile, as the stats struct.
absl::StatusOr<stats::DatasetProfile> StoredProfile(const std::string& bytes);

// The API form of a stored version (with its validation report if asked).
absl::StatusOr<v1::DatasetVersion> VersionToProto(const VersionRecord& v, bool with_report);

}  // namespace mlops::ingestion
