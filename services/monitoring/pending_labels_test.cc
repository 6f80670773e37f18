#include "services/monitoring/pending_labels.h"

#include "gtest/gtest.h"

namespace mlops::monitoring {
namespace {

TEST(PendingLabelsTest, ExpiresAtTtlInOrder) {
  PendingLabels p;
  p.Add({"r1", "fraud"}, 100);
  p.Add({"r2", ""}, 50);
  p.Add({"r3", "fraud"}, 200);
  EXPECT_TRUE(p.Expire(49).empty());
  std::vector<PendingLabelKey> expired = p.Expire(100);
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].request_id, "r2");
  EXPECT_EQ(expired[1].request_id, "r1");
  EXPECT_EQ(p.size(), 1);
}

TEST(PendingLabelsTest, PredictionResolvesOwnModelAndModelLessLabels) {
  PendingLabels p;
  p.Add({"r1", "fraud"}, 100);
  p.Add({"r1", ""}, 100);
  p.Add({"r1", "churn"}, 100);
  EXPECT_EQ(p.CountFor("fraud"), 2);
  EXPECT_EQ(p.Resolve("r1", "fraud"), 2);
  EXPECT_EQ(p.CountFor("fraud"), 0);
  EXPECT_EQ(p.CountFor("churn"), 1);
  EXPECT_EQ(p.Resolve("r1", "fraud"), 0);
}

TEST(PendingLabelsTest, BoundDropsTheFirstToExpire) {
  PendingLabels p(2);
  EXPECT_TRUE(p.Add({"a", ""}, 300).empty());
  EXPECT_TRUE(p.Add({"b", ""}, 100).empty());
  std::vector<PendingLabelKey> dropped = p.Add({"c", ""}, 200);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].request_id, "b");
  EXPECT_EQ(p.size(), 2);
}

TEST(PendingLabelsTest, ReAddingReArmsTheTtl) {
  PendingLabels p;
  p.Add({"a", ""}, 100);
  p.Add({"a", ""}, 500);
  EXPECT_TRUE(p.Expire(200).empty());
  EXPECT_EQ(p.size(), 1);
}

}  // namespace
}  // namespace mlops::monitoring
