#include "common/stats/category_counter.h"

#include <algorithm>
#include <functional>

#include "absl/strings/string_view.h"

namespace mlops::stats {

CategoryCounter::CategoryCounter(int capacity) : capacity_(std::max(capacity, 1)) {}

void CategoryCounter::Add(std::string_view value, int64_t count) {
  if (count <= 0) return;
  total_ += count;
  const absl::string_view key(value.data(), value.size());
  auto it = counts_.find(key);
  if (it != counts_.end()) {
    it->second += count;
    return;
  }
  counts_.emplace(std::string(value), count);
  ReduceIfFull();
}

void CategoryCounter::Merge(const CategoryCounter& other) {
  total_ += other.total_;
  max_error_ += other.max_error_;
  for (const auto& [value, count] : other.counts_) counts_[value] += count;
  ReduceIfFull();
}

void CategoryCounter::ReduceIfFull() {
  const size_t cap = static_cast<size_t>(capacity_);
  // Exact mode ends at capacity + 1 distinct values; afterwards reduce lazily
  // at 2 * capacity to amortise the cost.
  const size_t limit = exact() ? cap : 2 * cap;
  if (counts_.size() <= limit) return;
  std::vector<int64_t> values;
  values.reserve(counts_.size());
  for (const auto& entry : counts_) values.push_back(entry.second);
  // The (capacity + 1)-th largest count.
  std::nth_element(values.begin(), values.begin() + cap, values.end(), std::greater<int64_t>());
  const int64_t cut = values[cap];
  for (auto it = counts_.begin(); it != counts_.end();) {
    it->second -= cut;
    if (it->second <= 0) {
      counts_.erase(it++);
    } else {
      ++it;
    }
  }
  max_error_ += cut;
}

std::vector<CategoryCount> CategoryCounter::Top(int k) const {
  std::vector<CategoryCount> all;
  all.reserve(counts_.size());
  for (const auto& [value, count] : counts_) all.push_back({value, count});
  const auto before = [](const CategoryCount& a, const CategoryCount& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  };
  const size_t n = std::min(all.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(all.begin(), all.begin() + n, all.end(), before);
  all.resize(n);
  return all;
}

}  // namespace mlops::stats
