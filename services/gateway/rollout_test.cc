// Routing: canary split within statistical bounds, sticky A/B by entity key,
// shadows never answering, nothing to the candidate unless in progress.
#include "services/gateway/rollout.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mlops::gateway {
namespace {

RolloutPlan Canary() {
  RolloutPlan p;
  p.strategy = Strategy::kCanary;
  p.steps = {{5, 1'000'000, 100}, {25, 1'000'000, 100}, {100, 1'000'000, 100}};
  return p;
}

TEST(RouteRowTest, CanaryStepSendsItsPercentWithinStatisticalBounds) {
  const RolloutPlan plan = Canary();
  const int n = 20000;
  int candidate = 0;
  for (int i = 0; i < n; ++i) {
    if (RouteRow(plan, RolloutState::kInProgress, 1, "", absl::StrCat("req-", i)).candidate) {
      ++candidate;
    }
  }
  // 25% of 20,000: sd = sqrt(n p (1-p)) ~ 61; allow 5 sd.
  EXPECT_NEAR(candidate, 5000, 310);
}

TEST(RouteRowTest, LastCanaryStepSendsEverything) {
  const RolloutPlan plan = Canary();
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(RouteRow(plan, RolloutState::kInProgress, 2, "", absl::StrCat("r", i)).candidate);
  }
}

TEST(RouteRowTest, NothingGoesToTheCandidateUnlessInProgress) {
  const RolloutPlan plan = Canary();
  for (RolloutState s : {RolloutState::kPending, RolloutState::kCompleted,
                         RolloutState::kRolledBack, RolloutState::kSuperseded}) {
    for (int i = 0; i < 200; ++i) {
      RowRoute r = RouteRow(plan, s, 2, "", absl::StrCat("r", i));
      EXPECT_FALSE(r.candidate);
      EXPECT_FALSE(r.shadow);
    }
    EXPECT_EQ(CandidatePercent(plan, s, 2), 0);
  }
}

TEST(RouteRowTest, AbAssignmentIsStickyByEntityKeyAndSplitsByPercent) {
  RolloutPlan plan;
  plan.strategy = Strategy::kAb;
  plan.ab_percent = 30;
  plan.ab_salt = "exp1";
  int candidate = 0;
  const int entities = 10000;
  for (int e = 0; e < entities; ++e) {
    const std::string key = std::to_string(e);
    const bool first = RouteRow(plan, RolloutState::kInProgress, 0, key, "req-a").candidate;
    for (int k = 0; k < 3; ++k) {  // other requests of the same entity
      EXPECT_EQ(RouteRow(plan, RolloutState::kInProgress, 0, key, absl::StrCat("req-", k)).candidate,
                first);
    }
    candidate += first;
  }
  EXPECT_NEAR(candidate, 3000, 230);  // sd ~ 46
}

TEST(RouteRowTest, ChangingTheSaltReshufflesAbGroups) {
  RolloutPlan a;
  a.strategy = Strategy::kAb;
  a.ab_percent = 50;
  a.ab_salt = "one";
  RolloutPlan b = a;
  b.ab_salt = "two";
  int differ = 0;
  for (int e = 0; e < 2000; ++e) {
    const std::string key = std::to_string(e);
    differ += RouteRow(a, RolloutState::kInProgress, 0, key, "x").candidate !=
              RouteRow(b, RolloutState::kInProgress, 0, key, "x").candidate;
  }
  EXPECT_GT(differ, 800);  // ~ half
}

TEST(RouteRowTest, ShadowMirrorsItsPercentAndNeverAnswers) {
  RolloutPlan plan;
  plan.strategy = Strategy::kShadow;
  plan.mirror_percent = 40;
  int mirrored = 0;
  for (int i = 0; i < 10000; ++i) {
    RowRoute r = RouteRow(plan, RolloutState::kInProgress, 0, "", absl::StrCat("q", i));
    EXPECT_FALSE(r.candidate);
    mirrored += r.shadow;
  }
  EXPECT_NEAR(mirrored, 4000, 250);
  EXPECT_EQ(CandidatePercent(plan, RolloutState::kInProgress, 0), 0);
}

TEST(RouteRowTest, BlueGreenSwitchesAllTrafficAtOnce) {
  RolloutPlan plan;
  plan.strategy = Strategy::kBlueGreen;
  for (int i = 0; i < 500; ++i) {
    EXPECT_TRUE(RouteRow(plan, RolloutState::kInProgress, 0, "", absl::StrCat("q", i)).candidate);
  }
}

TEST(StableHashTest, IsDeterministicAndSalted) {
  EXPECT_EQ(StableHash("s", "key"), StableHash("s", "key"));
  EXPECT_NE(StableHash("s", "key"), StableHash("t", "key"));
  EXPECT_GE(Bucket(StableHash("s", "key")), 0);
  EXPECT_LT(Bucket(StableHash("s", "key")), 10000);
}

}  // namespace
}  // namespace mlops::gateway
