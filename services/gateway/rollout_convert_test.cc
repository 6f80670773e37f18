// DesiredFromProto: what the registry's WatchDeployments feed asks of an
// endpoint, as the gateway's plain structs.
#include "services/gateway/rollout_convert.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace mlops::gateway {
namespace {

namespace rv1 = ::mlops::registry::v1;

rv1::EndpointDeployment CanaryDeployment(rv1::RolloutState state, const std::string& reason) {
  rv1::EndpointDeployment d;
  d.set_endpoint("fraud_api");
  d.set_model("fraud");
  rv1::ServedVersion* primary = d.add_versions();
  primary->set_version(1);
  primary->set_role(rv1::SERVED_VERSION_ROLE_PRIMARY);
  rv1::DeploymentRollout* r = d.mutable_rollout();
  r->set_rollout_id("ro-1");
  r->set_primary_version(1);
  r->set_candidate_version(2);
  r->set_state(state);
  r->set_reason(reason);
  r->mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_CANARY);
  rv1::CanaryConfig* canary = r->mutable_spec()->mutable_canary();
  for (double percent : {20.0, 100.0}) {
    rv1::CanaryStep* step = canary->add_steps();
    step->set_percent(percent);
    step->set_analysis_window_micros(5000000);
  }
  return d;
}

TEST(RolloutConvertTest, InProgressRolloutHasNoRollbackReason) {
  MLOPS_ASSERT_OK_AND_ASSIGN(
      DesiredEndpoint desired,
      DesiredFromProto(CanaryDeployment(rv1::ROLLOUT_STATE_IN_PROGRESS, "promotion of fraud@2")));
  ASSERT_TRUE(desired.rollout.has_value());
  EXPECT_EQ(desired.rollout->state, RolloutState::kInProgress);
  EXPECT_EQ(desired.rollout->rollback_reason, "");
}

TEST(RolloutConvertTest, RolledBackRolloutKeepsTheRegistrysReason) {
  MLOPS_ASSERT_OK_AND_ASSIGN(
      DesiredEndpoint desired,
      DesiredFromProto(CanaryDeployment(rv1::ROLLOUT_STATE_ROLLED_BACK,
                                        "automatic rollback: prediction_shift 5.9 breaches max 0.25")));
  ASSERT_TRUE(desired.rollout.has_value());
  EXPECT_EQ(desired.rollout->state, RolloutState::kRolledBack);
  EXPECT_EQ(desired.rollout->rollback_reason, "automatic rollback: prediction_shift 5.9 breaches max 0.25");
  EXPECT_EQ(desired.primary_version, 1);
}

}  // namespace
}  // namespace mlops::gateway
