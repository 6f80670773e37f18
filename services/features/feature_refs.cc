#include "services/features/feature_refs.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/features/feature_view.h"

namespace mlops::features {

absl::StatusOr<FeatureRef> ParseFeatureRef(const std::string& ref, int index) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature_refs[", index, "]: \"", ref, "\" ", why,
                     " (expected view[@version]:feature or view[@version]:*)"));
  };
  const size_t colon = ref.find(':');
  if (colon == std::string::npos) return bad("has no ':'");
  FeatureRef out;
  std::string view = ref.substr(0, colon);
  out.feature = ref.substr(colon + 1);
  const size_t at = view.find('@');
  if (at != std::string::npos) {
    if (!absl::SimpleAtoi(view.substr(at + 1), &out.version) || out.version <= 0) {
      return bad("has a bad version");
    }
    view.resize(at);
  }
  out.view = std::move(view);
  if (!IsValidName(out.view)) return bad("has a bad view name");
  if (out.feature != "*" && !IsValidName(out.feature)) return bad("has a bad feature name");
  return out;
}

absl::StatusOr<ParsedRefs> ParseFeatureRefs(
    const google::protobuf::RepeatedPtrField<std::string>& refs) {
  if (refs.empty()) return absl::InvalidArgumentError("feature_refs: at least one is required");
  if (refs.size() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature_refs: ", refs.size(), " refs, at most 1000"));
  }
  ParsedRefs out;
  for (int i = 0; i < refs.size(); ++i) {
    absl::StatusOr<FeatureRef> ref = ParseFeatureRef(refs.Get(i), i);
    if (!ref.ok()) return ref.status();
    ViewRefs* group = nullptr;
    for (ViewRefs& v : out.views) {
      if (v.view == ref->view) group = &v;
    }
    if (group == nullptr) {
      out.views.push_back(ViewRefs{ref->view, ref->version, false, {}});
      group = &out.views.back();
    } else if (ref->version != 0 && group->version != 0 && ref->version != group->version) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature_refs[", i, "]: view \"", ref->view, "\" is used at two versions (",
          group->version, " and ", ref->version, ")"));
    } else if (group->version == 0) {
      group->version = ref->version;
    }
    group->ref_indices.push_back(i);
    out.refs.push_back(*std::move(ref));
  }
  for (ViewRefs& g : out.views) {
    bool pinned = false, unpinned = false;
    for (int i : g.ref_indices) (out.refs[i].version == 0 ? unpinned : pinned) = true;
    g.mixed = pinned && unpinned;
  }
  return out;
}

absl::Status TwoVersionsError(const ViewRefs& group, int64_t unpinned_version) {
  return absl::InvalidArgumentError(absl::StrCat(
      "feature_refs: view \"", group.view, "\" is used at two versions (", group.version,
      " pinned, ", unpinned_version, " unpinned)"));
}

}  // namespace mlops::features
