#include "services/training/training_set.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mlops::training {
namespace {

std::size_t Share(std::size_t n, double fraction) {
  return static_cast<std::size_t>(std::llround(static_cast<double>(n) * fraction));
}

absl::Status CheckFractions(const SplitOptions& o) {
  if (!(o.test_fraction > 0 && o.test_fraction <= 0.9)) {
    return absl::InvalidArgumentError(
        absl::StrCat("split.test_fraction: ", o.test_fraction, " not in (0, 0.9]"));
  }
  if (!(o.validation_fraction > 0 && o.validation_fraction <= 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat("split.validation_fraction: ",
                                                   o.validation_fraction, " not in (0, 0.5]"));
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<std::size_t> SeededPermutation(std::size_t n, uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  uint64_t state = seed;
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(SplitMix64(&state) % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

absl::StatusOr<SplitIndices> SplitRows(const TrainingSet& set, const SplitOptions& options) {
  const bool time_cutoff = options.by_time && options.time_cutoff_micros != 0;
  if (!time_cutoff) {
    if (absl::Status s = CheckFractions(options); !s.ok()) return s;
  } else if (!(options.validation_fraction > 0 && options.validation_fraction <= 0.5)) {
    return absl::InvalidArgumentError("split.validation_fraction: not in (0, 0.5]");
  }
  const std::size_t n = set.rows();
  if (n == 0) return absl::InvalidArgumentError("empty training set: no rows");
  if (set.values.size() != n * set.cols()) {
    return absl::InternalError("training set: values do not match rows x columns");
  }
  std::vector<std::size_t> order;  // the rows in split order: train..., validation..., test
  std::size_t test_count = 0;
  if (options.by_time) {
    if (set.timestamps.size() != n) {
      return absl::InvalidArgumentError("split: a time split needs an event time per row");
    }
    order.resize(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return set.timestamps[a] < set.timestamps[b];
    });
    if (time_cutoff) {
      for (std::size_t row : order) test_count += set.timestamps[row] >= options.time_cutoff_micros;
    } else {
      test_count = Share(n, options.test_fraction);
    }
  } else {
    order = SeededPermutation(n, options.seed);
    test_count = Share(n, options.test_fraction);
  }
  const std::size_t rest = n - test_count;
  const std::size_t validation_count = Share(rest, options.validation_fraction);
  const std::size_t train_count = rest - validation_count;
  if (train_count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty training set: ", n, " rows leave none for training"));
  }
  SplitIndices out;
  out.train.assign(order.begin(), order.begin() + train_count);
  out.validation.assign(order.begin() + train_count, order.begin() + rest);
  out.test.assign(order.begin() + rest, order.end());
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.validation.begin(), out.validation.end());
  std::sort(out.test.begin(), out.test.end());
  return out;
}

DenseBlock TakeRows(const TrainingSet& set, const std::vector<std::size_t>& rows) {
  DenseBlock block;
  block.rows = rows.size();
  block.cols = set.cols();
  block.values.reserve(block.rows * block.cols);
  block.labels.reserve(block.rows);
  for (std::size_t row : rows) {
    const auto first = set.values.begin() + static_cast<std::ptrdiff_t>(row * block.cols);
    block.values.insert(block.values.end(), first, first + static_cast<std::ptrdiff_t>(block.cols));
    block.labels.push_back(set.labels[row]);
  }
  return block;
}

}  // namespace mlops::training
