// DecideRolloutStart: whether a rollout may start on an endpoint given what
// every replica saved (rollout_start.h).
#include "services/gateway/rollout_start.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::gateway {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'000'000'000;
constexpr int64_t kTtl = 30'000'000;

absl::Status Decide(const RolloutStartView& v, bool replace_active = false, int64_t now = kNow) {
  return DecideRolloutStart("ep", v, replace_active, now, kTtl);
}

RolloutStartView Claimed(std::string rollout_id, std::optional<RolloutState> state = std::nullopt) {
  RolloutStartView v;
  v.claim_token = "claim-1";
  v.claimed_at_micros = kNow - 1'000'000;
  v.claimed_rollout_id = std::move(rollout_id);
  v.claimed_rollout_state = state;
  return v;
}

TEST(RolloutStartTest, NothingKnownAllowsTheStart) { EXPECT_TRUE(Decide({}).ok()); }

TEST(RolloutStartTest, CurrentActiveRolloutIsFailedPreconditionNamingIt) {
  RolloutStartView v;
  v.current_rollout_id = "ro-7";
  v.current_rollout_state = RolloutState::kInProgress;
  EXPECT_THAT(Decide(v), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ro-7 in progress")));
  EXPECT_TRUE(Decide(v, /*replace_active=*/true).ok());
  v.current_rollout_state = RolloutState::kCompleted;
  EXPECT_TRUE(Decide(v).ok());
}

TEST(RolloutStartTest, ClaimBeingForwardedIsAbortedUntilItsTtl) {
  const RolloutStartView v = Claimed("");
  EXPECT_THAT(Decide(v), StatusIs(absl::StatusCode::kAborted, HasSubstr("being forwarded")));
  EXPECT_TRUE(Decide(v, /*replace_active=*/true).ok());
  EXPECT_TRUE(Decide(v, false, v.claimed_at_micros + kTtl).ok());
}

TEST(RolloutStartTest, AcceptedClaimBlocksUntilSavedFinishedOrExpiredUnapplied) {
  EXPECT_THAT(Decide(Claimed("ro-8")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ro-8 in progress")));
  EXPECT_THAT(Decide(Claimed("ro-8", RolloutState::kPending)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Saved active by a replica: blocks whatever its age.
  EXPECT_THAT(Decide(Claimed("ro-8", RolloutState::kInProgress), false, kNow + 10 * kTtl),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(Decide(Claimed("ro-8", RolloutState::kRolledBack)).ok());
  EXPECT_TRUE(Decide(Claimed("ro-8", RolloutState::kSuperseded)).ok());
  // Accepted but applied nowhere for a whole ttl: no longer blocks.
  EXPECT_TRUE(Decide(Claimed("ro-8"), false, kNow + kTtl).ok());
}

TEST(RolloutStartTest, ReleasedClaimAllowsTheStart) {
  RolloutStartView v;
  v.claim_token = "";
  v.claimed_rollout_id = "";
  EXPECT_TRUE(Decide(v).ok());
}

}  // namespace
}  // namespace mlops::gateway
