#pragma once
// Generated but realistic card transactions for the closed-loop demo:
// customers with a home country and a typical spend, transactions over time
// with merchant categories and countries, and fraud labels that follow a
// known pattern. After `Drift()`, amounts shift up and the fraud pattern
// changes (from large foreign purchases to bursts of small domestic gift-card
// purchases), so both data drift and a stale model can be observed.
// Deterministic for a seed. Not thread-safe.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace mlops::demo {

struct Transaction {
  std::string customer_id;  // "c0042"
  int64_t ts_micros = 0;
  double amount = 0;
  std::string merchant_category;
  int64_t mcc = 0;  // the merchant category code of the card networks (5411 grocery, ...)
  std::string country;
  bool foreign = false;  // country differs from the customer's home country
  bool is_fraud = false;
};

class TransactionGenerator {
 public:
  TransactionGenerator(int customers, uint64_t seed);

  // `count` transactions with timestamps spread over [from, to), sorted by time.
  std::vector<Transaction> Generate(int64_t from_micros, int64_t to_micros, int count);
  // From now on: amounts x2.5 and the new fraud pattern.
  void Drift() { drifted_ = true; }
  bool drifted() const { return drifted_; }

  // The probability that a transaction is fraud under the current pattern
  // (exposed for tests of the pattern itself).
  double FraudProbability(const Transaction& t, double typical_amount, int recent_count) const;

 private:
  struct Customer {
    std::string id;
    std::string home_country;
    double typical_amount = 0;
  };
  Transaction Next(int64_t ts_micros);

  std::vector<Customer> customers_;
  std::vector<int> recent_counts_;  // per customer: a decaying burst counter
  std::mt19937_64 rng_;
  bool drifted_ = false;
};

// CSV with the header row
// customer_id,ts,amount,mcc,merchant_category,country,foreign,is_fraud.
std::string ToCsv(const std::vector<Transaction>& transactions);

}  // namespace mlops::demo
