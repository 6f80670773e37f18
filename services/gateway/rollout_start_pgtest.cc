// SetRollout's check across gateway replicas: two EndpointManagers, each with
// its own PgEndpointStore on one database (two replicas), start a rollout on
// one endpoint at once; exactly one is forwarded to the registry and the
// other is refused (ABORTED while the first is being forwarded,
// FAILED_PRECONDITION naming it once accepted) unless replace_active. A
// refused or finished rollout frees the endpoint; a replica that died while
// forwarding blocks others only for the claim's ttl.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "services/gateway/testing/gateway_fixture.h"

namespace mlops::gateway::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

// The registry's side of MANUAL_ROLLOUT, slow enough for the race to overlap:
// each accepted one gets a new id. Other events are acknowledged.
class SlowReporter final : public DeploymentReporter {
 public:
  absl::StatusOr<std::string> Report(const DeploymentEvent& e) override {
    if (e.type != DeploymentEventType::kManualRollout) return e.rollout_id;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard<std::mutex> lock(mu_);
    if (!refuse_.ok()) return refuse_;
    return absl::StrCat("ro-race-", ++accepted_);
  }
  void Refuse(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = std::move(s);
  }
  int accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  std::mutex mu_;
  absl::Status refuse_;
  int accepted_ = 0;
};

class RolloutStartPgTest : public GatewayPgTest {
 protected:
  void SetUp() override {
    GatewayPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (int i = 0; i < 2; ++i) {
      stores_[i] = std::make_unique<PgEndpointStore>(pool_.get());
      EndpointManagerOptions eo;
      eo.now_micros = [this] { return now_.load(); };
      eo.parse_plan = PlanFromSpecBytes;
      eo.apply_wait = std::chrono::milliseconds(0);  // answer PENDING once accepted
      replicas_[i] = std::make_unique<EndpointManager>(stack_->cache.get(), stack_->registry.get(),
                                                       &reporter_, stores_[i].get(), nullptr, eo);
    }
  }
  void TearDown() override {
    for (auto& r : replicas_) r.reset();
    for (auto& s : stores_) s.reset();
    GatewayPgTest::TearDown();
  }

  static StartRollout Start(bool replace_active = false) {
    StartRollout s;
    s.endpoint = "fraud_ep";
    s.candidate_version = 2;
    s.spec_bytes = Canary(2, {50}).spec().SerializeAsString();
    s.reason = "race";
    s.replace_active = replace_active;
    s.principal = "tester";
    return s;
  }
  absl::Status StartOn(int replica, bool replace_active = false) {
    return replicas_[replica]->SetRollout(Start(replace_active)).status();
  }
  // As a replica that applied `rollout_id` saves it.
  void SaveRollout(const std::string& rollout_id, RolloutState state) {
    EndpointRecord e;
    e.endpoint = "fraud_ep";
    e.model = "fraud";
    e.primary_version = 1;
    RolloutRecord r;
    r.rollout_id = rollout_id;
    r.endpoint = "fraud_ep";
    r.model = "fraud";
    r.primary_version = 1;
    r.candidate_version = 2;
    r.state = state;
    e.rollout = r;
    ASSERT_THAT(stores_[0]->Save(e), IsOk());
  }

  SlowReporter reporter_;
  std::unique_ptr<PgEndpointStore> stores_[2];
  std::unique_ptr<EndpointManager> replicas_[2];
};

TEST_F(RolloutStartPgTest, TwoReplicasStartingAtOnceForwardExactlyOne) {
  for (int i = 0; i < 2; ++i) ASSERT_THAT(replicas_[i]->Resolve("fraud_ep").status(), IsOk());
  std::atomic<bool> go{false};
  absl::Status results[2];
  std::thread threads[2];
  for (int i = 0; i < 2; ++i) {
    threads[i] = std::thread([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = StartOn(i);
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  const int won = results[0].ok() ? 0 : 1;
  ASSERT_THAT(results[won], IsOk()) << results[0] << " / " << results[1];
  const absl::Status& lost = results[1 - won];
  EXPECT_THAT(lost.code(), AnyOf(absl::StatusCode::kAborted, absl::StatusCode::kFailedPrecondition))
      << lost;
  EXPECT_THAT(std::string(lost.message()), HasSubstr("fraud_ep"));
  EXPECT_THAT(std::string(lost.message()), HasSubstr("replace_active"));
  EXPECT_EQ(reporter_.accepted(), 1);
}

TEST_F(RolloutStartPgTest, AcceptedRolloutBlocksOtherReplicasUntilItEnds) {
  ASSERT_THAT(StartOn(0), IsOk());  // ro-race-1, applied by no replica yet
  absl::Status second = StartOn(1);
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  EXPECT_THAT(std::string(second.message()), HasSubstr("ro-race-1"));
  SaveRollout("ro-race-1", RolloutState::kInProgress);  // a replica runs it
  second = StartOn(1);
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  EXPECT_THAT(std::string(second.message()), HasSubstr("ro-race-1 in progress"));
  EXPECT_EQ(reporter_.accepted(), 1);

  ASSERT_THAT(StartOn(1, /*replace_active=*/true), IsOk());  // ro-race-2 replaces it
  EXPECT_EQ(reporter_.accepted(), 2);
  SaveRollout("ro-race-2", RolloutState::kRolledBack);  // ended
  ASSERT_THAT(StartOn(0), IsOk());
  EXPECT_EQ(reporter_.accepted(), 3);
}

TEST_F(RolloutStartPgTest, RegistryRefusalFreesTheEndpointAtOnce) {
  reporter_.Refuse(absl::FailedPreconditionError("candidate not eligible"));
  EXPECT_EQ(StartOn(0).code(), absl::StatusCode::kFailedPrecondition);
  reporter_.Refuse(absl::OkStatus());
  ASSERT_THAT(StartOn(1), IsOk());
  EXPECT_EQ(reporter_.accepted(), 1);
}

TEST_F(RolloutStartPgTest, ReplicaThatDiedWhileForwardingBlocksOnlyForTheClaimTtl) {
  // A claim taken and never finished (its replica died mid-way).
  ASSERT_THAT(stores_[0]->ClaimRolloutStart("fraud_ep", "claim-dead", now_.load(),
                                            [](const RolloutStartView&) { return absl::OkStatus(); }),
              IsOk());
  const absl::Status blocked = StartOn(1);
  EXPECT_EQ(blocked.code(), absl::StatusCode::kAborted) << blocked;
  EXPECT_THAT(std::string(blocked.message()), HasSubstr("being forwarded"));
  now_ += 31 * kSecond;  // past EndpointManagerOptions::start_claim_ttl_micros
  ASSERT_THAT(StartOn(1), IsOk());
  EXPECT_EQ(reporter_.accepted(), 1);
}

}  // namespace
}  // namespace mlops::gateway::testing
