#pragma once
// Counts of category values (strings; bools as "true"/"false"): exact while at
// most `capacity` distinct values have been seen, then a Misra-Gries summary
// that keeps at most `capacity` counters. In summary mode every kept count is
// a lower bound, short of the truth by at most max_error() <= total() /
// (capacity + 1), and any value whose true count exceeds that bound is kept.
// Merging follows Agarwal et al. ("Mergeable summaries", 2012): add counters,
// then reduce; the bound holds for the merged total.
//
// Reduction is amortised: the table may grow to 2 * capacity before the
// (capacity + 1)-th largest count is subtracted from every counter.
//
// A value type; not thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace mlops::stats {

// One category and its count (mirrors mlops.common.v1.CategoryCount).
struct CategoryCount {
  std::string value;
  int64_t count = 0;
  friend bool operator==(const CategoryCount& a, const CategoryCount& b) {
    return a.value == b.value && a.count == b.count;
  }
};

class CategoryCounter {
 public:
  static constexpr int kDefaultCapacity = 1024;

  // capacity: at least 1.
  explicit CategoryCounter(int capacity = kDefaultCapacity);

  void Add(std::string_view value, int64_t count = 1);
  // Add(value, 1) for a caller that has hashed the value already:
  // hash == XxHash64(value) (the distinct sketch's hash, reused here).
  void AddHashed(std::string_view value, uint64_t hash);
  void Merge(const CategoryCounter& other);

  // Every value added, counted exactly.
  int64_t total() const { return total_; }
  // True while no reduction has happened: all counts are exact.
  bool exact() const { return max_error_ == 0; }
  // How far below its true count any reported count may be.
  int64_t max_error() const { return max_error_; }
  // The k largest counts, count descending, then value ascending.
  std::vector<CategoryCount> Top(int k) const;

 private:
  void ReduceIfFull();

  // A value with its XxHash64, for lookups that do not hash again.
  struct Hashed {
    std::string_view value;
    uint64_t hash;
  };
  // The table hashes with XxHash64 so that Hashed lookups find the same slot.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view v) const;
    size_t operator()(const Hashed& h) const { return h.hash; }
  };
  struct KeyEq {
    using is_transparent = void;
    static std::string_view View(std::string_view v) { return v; }
    static std::string_view View(const Hashed& h) { return h.value; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const { return View(a) == View(b); }
  };

  void AddNew(std::string_view value, int64_t count);

  int capacity_;
  int64_t total_ = 0;
  int64_t max_error_ = 0;
  absl::flat_hash_map<std::string, int64_t, KeyHash, KeyEq> counts_;
};

}  // namespace mlops::stats
