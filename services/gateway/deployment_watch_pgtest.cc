// Following the registry's WatchDeployments stream: a promotion (a PENDING
// PROMOTION rollout in an endpoint message) starts the endpoint's configured
// canary on this replica, which reports ROLLOUT_STARTED; a rollback done
// elsewhere is followed without being reported again.
#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "services/gateway/deployment_watcher.h"
#include "services/gateway/testing/gateway_fixture.h"

namespace mlops::gateway::testing {
namespace {

namespace iv1 = ::mlops::inference::v1;
namespace rv1 = ::mlops::registry::v1;

rv1::WatchDeploymentsResponse Deployment(rv1::RolloutState state) {
  rv1::WatchDeploymentsResponse msg;
  msg.set_kind(rv1::DEPLOYMENT_UPDATE_KIND_CHANGE);
  rv1::EndpointDeployment* d = msg.mutable_endpoint();
  d->set_endpoint("fraud_ep");
  d->set_model("fraud");
  auto* primary = d->add_versions();
  primary->set_version(1);
  primary->set_role(rv1::SERVED_VERSION_ROLE_PRIMARY);
  auto* candidate = d->add_versions();
  candidate->set_version(2);
  candidate->set_role(rv1::SERVED_VERSION_ROLE_CANDIDATE);
  rv1::DeploymentRollout* r = d->mutable_rollout();
  r->set_rollout_id("ro-promo");
  r->set_origin(rv1::ROLLOUT_ORIGIN_PROMOTION);
  r->mutable_spec()->set_strategy(rv1::ROLLOUT_STRATEGY_CANARY);
  for (double p : {25.0, 100.0}) {
    auto* step = r->mutable_spec()->mutable_canary()->add_steps();
    step->set_percent(p);
    step->set_analysis_window_micros(10 * kSecond);
  }
  r->set_primary_version(1);
  r->set_candidate_version(2);
  r->set_state(state);
  r->set_started_by("promotion tr-1");
  if (state == rv1::ROLLOUT_STATE_ROLLED_BACK) r->set_reason("rolled back on another replica");
  return msg;
}

class DeploymentWatchPgTest : public GatewayPgTest {
 protected:
  bool WaitForState(rv1::RolloutState state) {
    for (int i = 0; i < 300; ++i) {
      iv1::Rollout r;
      if (GetRollout(&r).ok() && r.rollout_id() == "ro-promo" && r.state() == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(DeploymentWatchPgTest, PromotionStartsTheConfiguredCanaryAndRollbackIsFollowed) {
  DeploymentWatcher& watcher = *stack_->watcher;  // the fixture's follower
  registry_.PushDeployment(Deployment(rv1::ROLLOUT_STATE_PENDING));
  ASSERT_TRUE(WaitForState(rv1::ROLLOUT_STATE_IN_PROGRESS));
  EXPECT_TRUE(watcher.connected());
  iv1::Rollout rollout;
  ASSERT_TRUE(GetRollout(&rollout).ok());
  EXPECT_DOUBLE_EQ(rollout.candidate_percent(), 25);
  EXPECT_EQ(rollout.origin(), rv1::ROLLOUT_ORIGIN_PROMOTION);
  int candidate = 0;
  for (int i = 0; i < 10; ++i) {
    iv1::PredictResponse resp;
    ASSERT_TRUE(Predict(ByKey(i * 100, 100), &resp).ok());
    for (const auto& p : resp.predictions()) candidate += p.variant() == iv1::VARIANT_CANDIDATE;
  }
  EXPECT_NEAR(candidate, 250, 5 * 13.7);
  auto events = registry_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), rv1::DEPLOYMENT_EVENT_TYPE_ROLLOUT_STARTED);
  EXPECT_EQ(events[0].rollout_id(), "ro-promo");

  registry_.PushDeployment(Deployment(rv1::ROLLOUT_STATE_ROLLED_BACK));
  ASSERT_TRUE(WaitForState(rv1::ROLLOUT_STATE_ROLLED_BACK));
  EXPECT_EQ(registry_.events().size(), 1u);  // not reported again
  iv1::PredictResponse resp;
  ASSERT_TRUE(Predict(ByKey(0, 50), &resp).ok());
  for (const auto& p : resp.predictions()) EXPECT_EQ(p.version(), 1);
  watcher.Stop();
  EXPECT_FALSE(watcher.connected());
}

}  // namespace
}  // namespace mlops::gateway::testing
