#pragma once
// PlanMaterialization: the pure decision whether a materialization run can
// be INCREMENTAL (apply only the rows appended since the state this replica
// keeps) or must be FULL, with the reason (logged and testable).
// Plain structs; thread-compatible.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/features/feature_store.h"

namespace mlops::features {

// One source dataset version, as far as lineage matters.
struct VersionLink {
  std::string id;
  std::string parent_id;  // empty for a dataset's first version
  bool append = true;     // mode APPEND (false: REPLACE)
  int64_t row_count = 0;
};

// What this replica's incremental state reflects.
struct IncrementalBase {
  std::string source_version_id;
  int64_t row_count = 0;
  int64_t as_of_micros = 0;
};

struct ModePlan {
  RunMode mode = RunMode::kFull;
  // INCREMENTAL: read the new version from this row (the base's row_count).
  int64_t offset = 0;
  std::string reason;
};

// Most ancestors walked from the new version back to the base.
inline constexpr size_t kMaxLineageWalk = 64;

// `chain`: the new source version first, then its ancestors as far as they
// were read (the walk stops at the base, at a REPLACE version, at the first
// version, or after kMaxLineageWalk). FULL when FULL is requested, there is
// no base, as_of goes back before the base's, a REPLACE version lies between
// the base and the new version (the base itself may be anything), the new
// version does not descend from the base, or the rows do not add up.
ModePlan PlanMaterialization(RunMode requested, const std::optional<IncrementalBase>& base,
                             const std::vector<VersionLink>& chain, int64_t as_of_micros);

}  // namespace mlops::features
