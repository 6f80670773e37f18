#include "tests/demo/transactions.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::demo {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kDay = int64_t{86400} * 1000000;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(TransactionGeneratorTest, SortedDeterministicAndFraudIsRareButPresent) {
  TransactionGenerator a(200, 7), b(200, 7);
  const auto first = a.Generate(0, 30 * kDay, 20000);
  const auto again = b.Generate(0, 30 * kDay, 20000);
  ASSERT_EQ(first.size(), 20000u);
  EXPECT_TRUE(std::is_sorted(first.begin(), first.end(),
                             [](const Transaction& x, const Transaction& y) { return x.ts_micros < y.ts_micros; }));
  EXPECT_EQ(ToCsv(first), ToCsv(again));
  const auto frauds = std::count_if(first.begin(), first.end(), [](const Transaction& t) { return t.is_fraud; });
  EXPECT_GT(frauds, 20000 * 0.005);
  EXPECT_LT(frauds, 20000 * 0.10);
  const auto foreign = std::count_if(first.begin(), first.end(), [](const Transaction& t) { return t.foreign; });
  EXPECT_NEAR(static_cast<double>(foreign) / 20000, 0.12, 0.02);
  for (const Transaction& t : first) EXPECT_GT(t.amount, 0);
}

TEST(TransactionGeneratorTest, FraudFollowsThePatternBeforeAndAfterDrift) {
  TransactionGenerator g(10, 1);
  Transaction abroad{"c0001", 0, 500, "electronics", 5732, "US", true, false};
  Transaction home{"c0001", 0, 20, "grocery", 5411, "DE", false, false};
  Transaction gift{"c0001", 0, 15, "gift_cards", 5947, "DE", false, false};
  EXPECT_GT(g.FraudProbability(abroad, 30, 0), 0.5);
  EXPECT_LT(g.FraudProbability(home, 30, 0), 0.01);
  EXPECT_LT(g.FraudProbability(gift, 30, 4), 0.05);
  g.Drift();
  EXPECT_GT(g.FraudProbability(gift, 30, 4), 0.5);
  EXPECT_LT(g.FraudProbability(abroad, 30, 0), 0.05);
}

TEST(TransactionGeneratorTest, DriftShiftsAmounts) {
  TransactionGenerator g(200, 3);
  std::vector<double> before, after;
  for (const Transaction& t : g.Generate(0, kDay, 5000)) before.push_back(t.amount);
  g.Drift();
  for (const Transaction& t : g.Generate(kDay, 2 * kDay, 5000)) after.push_back(t.amount);
  EXPECT_NEAR(Median(after) / Median(before), 2.5, 0.4);
}

TEST(TransactionGeneratorTest, CsvHasTheDatasetColumns) {
  TransactionGenerator g(5, 2);
  const std::string csv = ToCsv(g.Generate(0, kDay, 3));
  EXPECT_THAT(csv, StartsWith("customer_id,ts,amount,mcc,merchant_category,country,foreign,is_fraud\n"));
  EXPECT_THAT(csv, HasSubstr("1970-01-01T"));
}

}  // namespace
}  // namespace mlops::demo
