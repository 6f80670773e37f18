#include "tests/demo/transactions.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace mlops::demo {
namespace {

const std::vector<std::string>& Countries() {
  static const auto* const kCountries =
      new std::vector<std::string>{"DE", "FR", "NL", "ES", "IT", "GB", "US", "BR"};
  return *kCountries;
}

struct Category {
  const char* name;
  int64_t mcc;
};

const std::vector<Category>& Categories() {
  static const auto* const kCategories = new std::vector<Category>{
      {"grocery", 5411}, {"restaurants", 5812}, {"fuel", 5541},     {"electronics", 5732},
      {"travel", 4722},  {"fashion", 5651},     {"gift_cards", 5947}};
  return *kCategories;
}

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace

TransactionGenerator::TransactionGenerator(int customers, uint64_t seed) : rng_(seed) {
  std::lognormal_distribution<double> spend(3.5, 0.6);  // median ~33
  std::uniform_int_distribution<int> home(0, 4);         // customers live in Europe
  for (int i = 0; i < customers; ++i) {
    customers_.push_back({absl::StrFormat("c%04d", i), Countries()[home(rng_)], spend(rng_)});
  }
  recent_counts_.assign(customers, 0);
}

double TransactionGenerator::FraudProbability(const Transaction& t, double typical_amount,
                                              int recent_count) const {
  if (!drifted_) {
    // Before: large purchases abroad, in electronics or travel.
    const bool large = t.amount > 4 * typical_amount;
    const bool risky = t.merchant_category == "electronics" || t.merchant_category == "travel";
    return Sigmoid(-6.0 + 3.0 * large + 2.5 * t.foreign + 1.5 * risky);
  }
  // After: bursts of small domestic gift-card purchases.
  const bool gift = t.merchant_category == "gift_cards";
  const bool burst = recent_count >= 3;
  const bool small = t.amount < 2 * typical_amount;
  return Sigmoid(-6.0 + 3.0 * gift + 2.5 * burst + 1.0 * small - 1.0 * t.foreign);
}

Transaction TransactionGenerator::Next(int64_t ts_micros) {
  std::uniform_int_distribution<std::size_t> pick(0, customers_.size() - 1);
  const std::size_t index = pick(rng_);
  Customer& c = customers_[index];
  std::uniform_real_distribution<double> u(0, 1);
  Transaction t;
  t.customer_id = c.id;
  t.ts_micros = ts_micros;
  const Category& category =
      Categories()[std::uniform_int_distribution<std::size_t>(0, Categories().size() - 1)(rng_)];
  t.merchant_category = category.name;
  t.mcc = category.mcc;
  t.foreign = u(rng_) < 0.12;
  if (t.foreign) {
    std::string country;
    do {
      country = Countries()[std::uniform_int_distribution<std::size_t>(0, Countries().size() - 1)(rng_)];
    } while (country == c.home_country);
    t.country = country;
  } else {
    t.country = c.home_country;
  }
  std::lognormal_distribution<double> amount(std::log(c.typical_amount), 0.9);
  t.amount = std::round(amount(rng_) * (drifted_ ? 2.5 : 1.0) * 100) / 100;
  // Bursts: a customer sometimes makes several purchases in a row.
  recent_counts_[index] = u(rng_) < 0.3 ? recent_counts_[index] + 1 : 0;
  t.is_fraud = u(rng_) < FraudProbability(t, c.typical_amount * (drifted_ ? 2.5 : 1.0),
                                          recent_counts_[index]);
  return t;
}

std::vector<Transaction> TransactionGenerator::Generate(int64_t from_micros, int64_t to_micros,
                                                        int count) {
  std::uniform_int_distribution<int64_t> when(from_micros, std::max(from_micros, to_micros - 1));
  std::vector<int64_t> times;
  times.reserve(count);
  for (int i = 0; i < count; ++i) times.push_back(when(rng_));
  std::sort(times.begin(), times.end());
  std::vector<Transaction> out;
  out.reserve(count);
  for (int64_t ts : times) out.push_back(Next(ts));
  return out;
}

std::string ToCsv(const std::vector<Transaction>& transactions) {
  std::string csv = "customer_id,ts,amount,mcc,merchant_category,country,foreign,is_fraud\n";
  for (const Transaction& t : transactions) {
    absl::StrAppend(&csv, t.customer_id, ",",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(t.ts_micros),
                                     absl::UTCTimeZone()),
                    ",", absl::StrFormat("%.2f", t.amount), ",", t.mcc, ",", t.merchant_category, ",",
                    t.country, ",", t.foreign ? "true" : "false", ",",
                    t.is_fraud ? "true" : "false", "\n");
  }
  return csv;
}

}  // namespace mlops::demo
