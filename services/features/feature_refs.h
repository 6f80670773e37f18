#pragma once
// Feature refs: `view:feature`, `view@3:feature`, `view[@3]:*`. Parsing and
// grouping by view (first appearance order), shared by historical and
// online retrieval. Pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"

namespace mlops::features {

struct FeatureRef {
  std::string view;
  int64_t version = 0;   // 0 = not pinned
  std::string feature;   // "*" = every feature of the view
};

// InvalidArgument naming the ref (`feature_refs[2]: ...`) when malformed.
absl::StatusOr<FeatureRef> ParseFeatureRef(const std::string& ref, int index);

// The refs of one view in a request.
struct ViewRefs {
  std::string view;
  int64_t version = 0;           // the pinned version, or 0
  // Some refs pin `version` and others pin nothing: the unpinned ones must
  // resolve to the same version, else the request uses two versions.
  bool mixed = false;
  std::vector<int> ref_indices;  // indices into the request's refs
};

struct ParsedRefs {
  std::vector<FeatureRef> refs;
  std::vector<ViewRefs> views;  // in order of first appearance
};

// Parses 1 to 1000 refs; InvalidArgument for none, too many, a malformed
// ref, or two different pinned versions of one view.
absl::Status TwoVersionsError(const ViewRefs& group, int64_t unpinned_version);
absl::StatusOr<ParsedRefs> ParseFeatureRefs(
    const google::protobuf::RepeatedPtrField<std::string>& refs);

}  // namespace mlops::features
