#pragma once
// The training set of a job as plain data: a dense row-major float matrix
// (NaN = missing), one label per row, the ordered feature names and types,
// optional event times; and the pure functions that split it into train /
// validation / test rows (seeded random permutation, or by event time).
// No gRPC, no XGBoost. Plain values; not synchronized.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlops::training {

// Feature types use the numbers of mlops.common.v1.DataType.
inline constexpr int kTypeInt64 = 1;
inline constexpr int kTypeDouble = 2;
inline constexpr int kTypeString = 3;
inline constexpr int kTypeBool = 4;
inline constexpr int kTypeTimestamp = 5;

struct TrainingSet {
  std::vector<std::string> feature_names;  // model input order
  std::vector<int> feature_types;          // DataType numbers, same order
  std::vector<float> values;               // rows() * cols(), row after row
  std::vector<float> labels;               // one per row
  std::vector<int64_t> timestamps;         // one per row, or empty (no time split)

  std::size_t rows() const { return labels.size(); }
  std::size_t cols() const { return feature_names.size(); }
};

struct SplitOptions {
  bool by_time = false;              // false: random
  double test_fraction = 0.2;        // (0, 0.9]
  double validation_fraction = 0.1;  // (0, 0.5], of the non-test rows
  uint64_t seed = 0;                 // random split
  int64_t time_cutoff_micros = 0;    // time split: 0 = by test_fraction
};

// Row indices of each split, each in ascending order.
struct SplitIndices {
  std::vector<std::size_t> train;
  std::vector<std::size_t> validation;
  std::vector<std::size_t> test;
};

// InvalidArgument: bad fractions; a time split without timestamps; an
// empty training set (no rows, or no rows left for training).
absl::StatusOr<SplitIndices> SplitRows(const TrainingSet& set, const SplitOptions& options);

// Rows of a training set copied into a block of their own.
struct DenseBlock {
  std::vector<float> values;
  std::vector<float> labels;
  std::size_t rows = 0;
  std::size_t cols = 0;
};
DenseBlock TakeRows(const TrainingSet& set, const std::vector<std::size_t>& rows);

// A deterministic permutation of [0, n) from a seed (splitmix64 + Fisher-Yates;
// the same on every platform, unlike std::shuffle).
std::vector<std::size_t> SeededPermutation(std::size_t n, uint64_t seed);

// splitmix64: the next value of a simple, portable generator.
uint64_t SplitMix64(uint64_t* state);

}  // namespace mlops::training
