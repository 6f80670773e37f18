#include "services/features/materialization_plan.h"

#include "absl/strings/str_cat.h"

namespace mlops::features {
namespace {

ModePlan Full(std::string reason) {
  ModePlan plan;
  plan.mode = RunMode::kFull;
  plan.reason = std::move(reason);
  return plan;
}

}  // namespace

ModePlan PlanMaterialization(RunMode requested, const std::optional<IncrementalBase>& base,
                             const std::vector<VersionLink>& chain, int64_t as_of_micros) {
  if (requested == RunMode::kFull) return Full("FULL requested");
  if (!base.has_value()) return Full("no incremental state in this replica (first run or restart)");
  if (chain.empty()) return Full("source version unknown");
  if (as_of_micros < base->as_of_micros) {
    return Full(absl::StrCat("as_of ", as_of_micros, " is before the state's ", base->as_of_micros));
  }
  if (chain.front().row_count < base->row_count) {
    // An APPEND descendant never has fewer rows: say why it is not one.
    for (const VersionLink& link : chain) {
      if (!link.append) return Full(absl::StrCat("source version ", link.id, " REPLACES its parent"));
    }
    return Full(absl::StrCat("source version ", chain.front().id, " has fewer rows than ",
                             base->source_version_id));
  }
  ModePlan plan;
  plan.mode = RunMode::kIncremental;
  plan.offset = base->row_count;
  if (chain.front().id == base->source_version_id) {
    plan.reason = "same source version (as_of moved)";
    return plan;
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const VersionLink& link = chain[i];
    if (!link.append) {
      return Full(absl::StrCat("source version ", link.id, " REPLACES its parent"));
    }
    if (link.parent_id == base->source_version_id) {
      plan.reason = absl::StrCat(i + 1, " APPEND version(s) since ", base->source_version_id);
      return plan;
    }
    if (link.parent_id.empty()) break;
  }
  return Full(absl::StrCat("source version ", chain.front().id,
                           " does not descend (by APPENDs, within ", kMaxLineageWalk,
                           " versions) from ", base->source_version_id));
}

}  // namespace mlops::features
