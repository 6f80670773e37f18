#include "services/ingestion/row_checks.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/stats/hash.h"
#include "re2/re2.h"
#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {
namespace {

constexpr uint64_t kSecondSeed = 0x9E3779B97F4A7C15ULL;

// Checks every value (or every non-NULL value) on its own.
class PerValueCheck : public RowCheck {
 public:
  PerValueCheck(const Expectation& e, int column, int max_examples, bool checks_nulls)
      : RowCheck(e, column, max_examples), checks_nulls_(checks_nulls) {}

  absl::Status CheckChunk(const std::vector<Row>& rows, int64_t first_row) override {
    for (size_t i = 0; i < rows.size(); ++i) {
      const Value& v = rows[i][column()];
      if (!checks_nulls_ && IsNull(v)) continue;
      Count(first_row + static_cast<int64_t>(i), v, Ok(v));
    }
    return absl::OkStatus();
  }

 private:
  virtual bool Ok(const Value& v) = 0;
  bool checks_nulls_;
};

class NotNullCheck final : public PerValueCheck {
 public:
  NotNullCheck(const Expectation& e, int column, int max_examples)
      : PerValueCheck(e, column, max_examples, /*checks_nulls=*/true) {}

 private:
  bool Ok(const Value& v) override { return !IsNull(v); }
};

class BetweenCheck final : public PerValueCheck {
 public:
  BetweenCheck(const Expectation& e, const Between& rule, int column, int max_examples)
      : PerValueCheck(e, column, max_examples, false), rule_(rule) {}

 private:
  // long double holds every int64 and double exactly.
  bool Ok(const Value& v) override {
    long double x;
    if (const int64_t* i = std::get_if<int64_t>(&v)) {
      x = static_cast<long double>(*i);
    } else if (const double* d = std::get_if<double>(&v)) {
      if (std::isnan(*d)) return false;
      x = *d;
    } else if (const Timestamp* t = std::get_if<Timestamp>(&v)) {
      x = static_cast<long double>(t->micros);
    } else {
      return false;
    }
    if (rule_.min.has_value()) {
      const long double min = *rule_.min;
      if (rule_.strict_min ? x <= min : x < min) return false;
    }
    if (rule_.max.has_value()) {
      const long double max = *rule_.max;
      if (rule_.strict_max ? x >= max : x > max) return false;
    }
    return true;
  }
  Between rule_;
};

class InSetCheck final : public PerValueCheck {
 public:
  InSetCheck(const Expectation& e, const InSet& rule, int column, int max_examples)
      : PerValueCheck(e, column, max_examples, false) {
    for (const Value& v : rule.values) {
      std::string key;
      AppendCanonicalValue(v, &key);
      allowed_.insert(std::move(key));
    }
  }

 private:
  bool Ok(const Value& v) override {
    key_.clear();
    AppendCanonicalValue(v, &key_);
    return allowed_.contains(key_);
  }
  absl::flat_hash_set<std::string> allowed_;
  std::string key_;
};

class RegexCheck final : public PerValueCheck {
 public:
  RegexCheck(const Expectation& e, std::unique_ptr<RE2> re, int column, int max_examples)
      : PerValueCheck(e, column, max_examples, false), re_(std::move(re)) {}

 private:
  bool Ok(const Value& v) override {
    const std::string* s = std::get_if<std::string>(&v);
    return s != nullptr && RE2::PartialMatch(re2::StringPiece(s->data(), s->size()), *re_);
  }
  std::unique_ptr<RE2> re_;
};

// Every row whose value occurs more than once in the batch fails (all
// occurrences, as in Great Expectations); with scope=version and a parent,
// also every row whose value the parent version holds.
class UniqueCheck final : public RowCheck {
 public:
  UniqueCheck(const Expectation& e, int column, int max_examples, ExistingValues* existing)
      : RowCheck(e, column, max_examples), column_name_(e.column), existing_(existing) {}

  absl::Status CheckChunk(const std::vector<Row>& rows, int64_t first_row) override {
    // First occurrences in this chunk, to look up in the parent.
    std::vector<Value> lookups;
    std::vector<Key> lookup_keys;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Value& v = rows[i][column()];
      if (IsNull(v)) continue;
      const int64_t row = first_row + static_cast<int64_t>(i);
      const Key key = KeyOf(v);
      auto [it, inserted] = seen_.try_emplace(key, FirstSeen{row, false});
      if (inserted) {
        Count(row, v, true);
        if (existing_ != nullptr) {
          lookups.push_back(v);
          lookup_keys.push_back(key);
        }
        continue;
      }
      Count(row, v, false);
      if (!it->second.failed) {
        FailCounted(it->second.row, v);
        it->second.failed = true;
      }
    }
    if (lookups.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<bool>> found = existing_->Contains(column_name_, lookups);
    if (!found.ok()) return found.status();
    if (found->size() != lookups.size()) {
      return absl::InternalError("ExistingValues::Contains returned the wrong number of answers");
    }
    for (size_t i = 0; i < lookups.size(); ++i) {
      if (!(*found)[i]) continue;
      FirstSeen& first = seen_.find(lookup_keys[i])->second;
      if (first.failed) continue;  // already failed as a duplicate in this chunk
      FailCounted(first.row, lookups[i]);
      first.failed = true;
    }
    return absl::OkStatus();
  }

 private:
  // A 128-bit hash of the canonical encoding: collisions are negligible
  // (about n^2 / 2^129) and the set holds no values.
  using Key = std::pair<uint64_t, uint64_t>;
  struct FirstSeen {
    int64_t row;
    bool failed;  // counted as failing already
  };

  Key KeyOf(const Value& v) {
    key_bytes_.clear();
    AppendCanonicalValue(v, &key_bytes_);
    return {stats::XxHash64(key_bytes_), stats::XxHash64(key_bytes_, kSecondSeed)};
  }

  std::string column_name_;
  ExistingValues* existing_;
  absl::flat_hash_map<Key, FirstSeen> seen_;
  std::string key_bytes_;
};

}  // namespace

void RowCheck::Count(int64_t row, const Value& v, bool ok) {
  ++element_count_;
  if (!ok) FailCounted(row, v);
}

void RowCheck::FailCounted(int64_t row, const Value& v) {
  ++failing_count_;
  if (static_cast<int>(examples_.size()) < max_examples_) {
    examples_.push_back({row, ValueToString(v)});
  }
}

ExpectationResult RowCheck::Result(size_t index) const {
  ExpectationResult r;
  r.index = index;
  r.expectation = e_;
  r.element_count = element_count_;
  r.failing_count = failing_count_;
  r.examples = examples_;
  const int64_t passing = element_count_ - failing_count_;
  r.observed_value =
      element_count_ == 0 ? 0.0 : static_cast<double>(failing_count_) / element_count_;
  // A relative tolerance keeps e.g. mostly=0.7 of 10 values at 7 passing.
  r.passed = static_cast<double>(passing) >=
             e_.mostly * static_cast<double>(element_count_) * (1 - 1e-12);
  r.detail = absl::StrCat(failing_count_, " of ", element_count_, " values failed");
  if (e_.mostly != 1) absl::StrAppend(&r.detail, "; mostly=", e_.mostly);
  return r;
}

absl::StatusOr<std::unique_ptr<RowCheck>> MakeRowCheck(const Expectation& e, const Schema& schema,
                                                       ExistingValues* existing, int max_examples) {
  const int column = schema.IndexOf(e.column);
  if (column < 0) {
    return absl::InvalidArgumentError(absl::StrCat("column \"", e.column, "\" is not in the schema"));
  }
  if (std::holds_alternative<NotNull>(e.rule)) {
    return std::make_unique<NotNullCheck>(e, column, max_examples);
  }
  if (const auto* r = std::get_if<Between>(&e.rule)) {
    return std::make_unique<BetweenCheck>(e, *r, column, max_examples);
  }
  if (const auto* r = std::get_if<InSet>(&e.rule)) {
    return std::make_unique<InSetCheck>(e, *r, column, max_examples);
  }
  if (const auto* r = std::get_if<MatchesRegex>(&e.rule)) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_unique<RE2>(re2::StringPiece(r->pattern.data(), r->pattern.size()), options);
    if (!re->ok()) return absl::InvalidArgumentError(absl::StrCat("invalid regex: ", re->error()));
    return std::make_unique<RegexCheck>(e, std::move(re), column, max_examples);
  }
  if (const auto* r = std::get_if<Unique>(&e.rule)) {
    return std::make_unique<UniqueCheck>(e, column, max_examples,
                                         r->scope == UniqueScope::kVersion ? existing : nullptr);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(RuleName(e.rule)), " is not a row-level expectation"));
}

}  // namespace mlops::ingestion
