#include "services/monitoring/alert_state_machine.h"

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

class AlertStateMachineTest : public ::testing::Test {
 protected:
  int64_t now_ = 1000;
  AlertStateMachine machine_{[this] { return now_; }};
  const AlertKey key_{"fraud", "drift", 3};
};

TEST_F(AlertStateMachineTest, DebouncesThenFiresThenResolves) {
  AlertStep s = machine_.Observe(key_, true, true, /*for_micros=*/500);
  EXPECT_EQ(s.transition, AlertTransition::kCreatePending);
  EXPECT_EQ(s.times.pending_since_micros, 1000);
  now_ = 1499;
  EXPECT_EQ(machine_.Observe(key_, true, true, 500).transition, AlertTransition::kStillPending);
  now_ = 1500;
  s = machine_.Observe(key_, true, true, 500);
  EXPECT_EQ(s.transition, AlertTransition::kFire);
  EXPECT_EQ(s.times.fired_at_micros, 1500);
  EXPECT_EQ(s.times.phase, AlertPhase::kFiring);
  now_ = 1600;
  EXPECT_EQ(machine_.Observe(key_, true, true, 500).transition, AlertTransition::kStillFiring);
  now_ = 1700;
  s = machine_.Observe(key_, true, false, 500);
  EXPECT_EQ(s.transition, AlertTransition::kResolve);
  EXPECT_EQ(s.times.resolved_at_micros, 1700);
  EXPECT_EQ(s.times.fired_at_micros, 1500);
  EXPECT_FALSE(machine_.Open(key_).has_value());
}

TEST_F(AlertStateMachineTest, PendingThatClearsResolvesWithoutFiring) {
  machine_.Observe(key_, true, true, 500);
  now_ = 1200;
  AlertStep s = machine_.Observe(key_, true, false, 500);
  EXPECT_EQ(s.transition, AlertTransition::kResolve);
  EXPECT_EQ(s.times.fired_at_micros, 0);
  // The next episode is a new alert.
  now_ = 1300;
  EXPECT_EQ(machine_.Observe(key_, true, true, 500).transition, AlertTransition::kCreatePending);
  EXPECT_EQ(machine_.Open(key_)->pending_since_micros, 1300);
}

TEST_F(AlertStateMachineTest, ZeroForDurationFiresAtOnce) {
  AlertStep s = machine_.Observe(key_, true, true, 0);
  EXPECT_EQ(s.transition, AlertTransition::kCreateFiring);
  EXPECT_EQ(s.times.fired_at_micros, 1000);
}

TEST_F(AlertStateMachineTest, TooFewSamplesChangeNothing) {
  EXPECT_EQ(machine_.Observe(key_, false, true, 0).transition, AlertTransition::kNone);
  machine_.Observe(key_, true, true, 500);
  now_ = 5000;
  EXPECT_EQ(machine_.Observe(key_, false, false, 500).transition, AlertTransition::kNone);
  EXPECT_EQ(machine_.Open(key_)->phase, AlertPhase::kPending);
  EXPECT_EQ(machine_.Observe(key_, true, true, 500).transition, AlertTransition::kFire);
}

TEST_F(AlertStateMachineTest, FalseConditionWithoutAlertDoesNothing) {
  EXPECT_EQ(machine_.Observe(key_, true, false, 0).transition, AlertTransition::kNone);
}

TEST_F(AlertStateMachineTest, ResolveByPolicyChangeAndRestore) {
  machine_.Restore(key_, {AlertPhase::kFiring, 10, 20, 0});
  machine_.Restore({"fraud", "drift", 4}, {AlertPhase::kPending, 10, 0, 0});
  machine_.Restore({"fraud", "other", 4}, {AlertPhase::kPending, 10, 0, 0});
  EXPECT_EQ(machine_.OpenKeys("fraud", "drift").size(), 2u);
  AlertStep s = machine_.Resolve(key_);
  EXPECT_EQ(s.transition, AlertTransition::kResolve);
  EXPECT_EQ(s.times.fired_at_micros, 20);
  EXPECT_EQ(s.times.resolved_at_micros, 1000);
  EXPECT_EQ(machine_.Resolve(key_).transition, AlertTransition::kNone);
  EXPECT_EQ(machine_.OpenKeys("fraud", "drift").size(), 1u);
}

TEST(ConditionTest, Comparisons) {
  EXPECT_TRUE(ConditionHolds(0.2, CompareOp::kGreaterOrEqual, 0.2));
  EXPECT_FALSE(ConditionHolds(0.2, CompareOp::kGreater, 0.2));
  EXPECT_TRUE(ConditionHolds(0.2, CompareOp::kLessOrEqual, 0.2));
  EXPECT_TRUE(ConditionHolds(0.1, CompareOp::kLess, 0.2));
  EXPECT_FALSE(ConditionHolds(0.9, CompareOp::kDriftFlag, 0.2));
}

TEST(ChooseJudgedSpanTest, OpenWindowRaisesOnceItHoldsMinSamples) {
  const WindowObservation clean_closed{500, false};
  EXPECT_EQ(ChooseJudgedSpan(clean_closed, WindowObservation{150, true}, 100), JudgedSpan::kOpen);
  // Too few samples in the open window: the closed window is judged.
  EXPECT_EQ(ChooseJudgedSpan(clean_closed, WindowObservation{99, true}, 100),
            JudgedSpan::kClosed);
  // No closed window yet (traffic just started).
  EXPECT_EQ(ChooseJudgedSpan(std::nullopt, WindowObservation{150, true}, 100), JudgedSpan::kOpen);
}

TEST(ChooseJudgedSpanTest, CleanOpenWindowDoesNotClearADriftedClosedWindow) {
  const WindowObservation drifted_closed{500, true};
  EXPECT_EQ(ChooseJudgedSpan(drifted_closed, WindowObservation{150, false}, 100),
            JudgedSpan::kClosed);
  EXPECT_EQ(ChooseJudgedSpan(drifted_closed, std::nullopt, 100), JudgedSpan::kClosed);
}

TEST(ChooseJudgedSpanTest, FallsBackToWhateverExistsBelowMinSamples) {
  EXPECT_EQ(ChooseJudgedSpan(WindowObservation{10, true}, WindowObservation{20, false}, 100),
            JudgedSpan::kOpen);
  EXPECT_EQ(ChooseJudgedSpan(WindowObservation{10, true}, std::nullopt, 100),
            JudgedSpan::kClosed);
  EXPECT_EQ(ChooseJudgedSpan(std::nullopt, std::nullopt, 100), JudgedSpan::kNone);
}

}  // namespace
}  // namespace mlops::monitoring
