#include "services/registry/stage_machine.h"

#include "gtest/gtest.h"

namespace mlops::registry {
namespace {

bool Legal(Stage from, Stage to, bool staging_required = false) {
  return CheckStageMove(from, to, staging_required).ok();
}

TEST(StageMachineTest, AllowsDocumentedMoves) {
  EXPECT_TRUE(Legal(Stage::kNone, Stage::kStaging));
  EXPECT_TRUE(Legal(Stage::kNone, Stage::kProduction));
  EXPECT_TRUE(Legal(Stage::kStaging, Stage::kProduction));
  EXPECT_TRUE(Legal(Stage::kStaging, Stage::kNone));
  EXPECT_TRUE(Legal(Stage::kNone, Stage::kArchived));
  EXPECT_TRUE(Legal(Stage::kProduction, Stage::kArchived));
  EXPECT_TRUE(Legal(Stage::kArchived, Stage::kStaging));
  EXPECT_TRUE(Legal(Stage::kArchived, Stage::kProduction));
}

TEST(StageMachineTest, RejectsMoveToTheSameStage) {
  for (Stage s : {Stage::kNone, Stage::kStaging, Stage::kProduction, Stage::kArchived}) {
    absl::Status st = CheckStageMove(s, s, false);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << StageName(s);
  }
}

TEST(StageMachineTest, StagingRequiredBlocksSkippingStaging) {
  absl::Status s = CheckStageMove(Stage::kNone, Stage::kProduction, true);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("STAGING before PRODUCTION"), std::string::npos);
  EXPECT_FALSE(Legal(Stage::kArchived, Stage::kProduction, true));
  EXPECT_TRUE(Legal(Stage::kStaging, Stage::kProduction, true));
}

TEST(StageMachineTest, RejectsBackwardMoves) {
  EXPECT_FALSE(Legal(Stage::kProduction, Stage::kStaging));
  EXPECT_FALSE(Legal(Stage::kProduction, Stage::kNone));
  EXPECT_FALSE(Legal(Stage::kArchived, Stage::kNone));
}

TEST(StageMachineTest, OnlyStagingAndProductionAreGated) {
  EXPECT_TRUE(IsGated(Stage::kStaging));
  EXPECT_TRUE(IsGated(Stage::kProduction));
  EXPECT_FALSE(IsGated(Stage::kArchived));
  EXPECT_FALSE(IsGated(Stage::kNone));
}

}  // namespace
}  // namespace mlops::registry
