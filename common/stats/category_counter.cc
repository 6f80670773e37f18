#include "common/stats/category_counter.h"

#include <algorithm>
#include <functional>

#include "common/stats/hash.h"

namespace mlops::stats {

CategoryCounter::CategoryCounter(int capacity) : capacity_(std::max(capacity, 1)) {}

size_t CategoryCounter::KeyHash::operator()(std::string_view v) const { return XxHash64(v); }

void CategoryCounter::Add(std::string_view value, int64_t count) {
  if (count <= 0) return;
  total_ += count;
  auto it = counts_.find(value);
  if (it != counts_.end()) {
    it->second += count;
    return;
  }
  AddNew(value, count);
}

void CategoryCounter::AddHashed(std::string_view value, uint64_t hash) {
  ++total_;
  auto it = counts_.find(Hashed{value, hash});
  if (it != counts_.end()) {
    ++it->second;
    return;
  }
  AddNew(value, 1);
}

void CategoryCounter::AddNew(std::string_view value, int64_t count) {
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
