#include "services/features/materialization_plan.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::features {
namespace {

using ::testing::HasSubstr;

const IncrementalBase kBase{"v1", 100, 50};

TEST(PlanMaterializationTest, AppendsSinceTheBaseRunIncrementallyFromItsRowCount) {
  const std::vector<VersionLink> chain = {{"v3", "v2", true, 180}, {"v2", "v1", true, 130}};
  const ModePlan plan = PlanMaterialization(RunMode::kIncremental, kBase, chain, 60);
  EXPECT_EQ(plan.mode, RunMode::kIncremental);
  EXPECT_EQ(plan.offset, 100);
  EXPECT_THAT(plan.reason, HasSubstr("2 APPEND version(s) since v1"));
}

TEST(PlanMaterializationTest, SameVersionLaterAsOfIsIncremental) {
  const ModePlan plan =
      PlanMaterialization(RunMode::kIncremental, kBase, {{"v1", "v0", false, 100}}, 50);
  EXPECT_EQ(plan.mode, RunMode::kIncremental);
  EXPECT_EQ(plan.offset, 100);
}

TEST(PlanMaterializationTest, FallsBackToFullWithTheReason) {
  const std::vector<VersionLink> appends = {{"v2", "v1", true, 130}};
  struct Case {
    RunMode requested;
    std::optional<IncrementalBase> base;
    std::vector<VersionLink> chain;
    int64_t as_of;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {RunMode::kFull, kBase, appends, 60, "FULL requested"},
      {RunMode::kIncremental, std::nullopt, appends, 60, "no incremental state"},
      {RunMode::kIncremental, kBase, appends, 49, "before the state's"},
      {RunMode::kIncremental, kBase, {{"v2", "v1", false, 30}}, 60, "v2 REPLACES its parent"},
      // A REPLACE between the base and the new version, with more rows.
      {RunMode::kIncremental, kBase,
       {{"v3", "v2", true, 300}, {"v2", "v1", false, 200}}, 60, "v2 REPLACES its parent"},
      // Not a descendant: the walk reached the first version.
      {RunMode::kIncremental, kBase, {{"w2", "w1", true, 300}, {"w1", "", true, 150}}, 60,
       "does not descend"},
      {RunMode::kIncremental, kBase, {}, 60, "unknown"},
  };
  for (const Case& c : cases) {
    const ModePlan plan = PlanMaterialization(c.requested, c.base, c.chain, c.as_of);
    EXPECT_EQ(plan.mode, RunMode::kFull) << c.reason;
    EXPECT_THAT(plan.reason, HasSubstr(c.reason));
  }
}

}  // namespace
}  // namespace mlops::features
