#pragma once
// Bit-for-bit comparison of feature values for tests: equal statuses and,
// where present, equal values, doubles compared with memcmp.

#include <cstring>
#include <string>

#include "gtest/gtest.h"
#include "services/features/types.h"

namespace mlops::features::testing {

inline ::testing::AssertionResult SameValue(const FeatureValue& got, const FeatureValue& want) {
  if (got.status != want.status) {
    return ::testing::AssertionFailure() << "status " << ValueStatusName(got.status) << " != "
                                         << ValueStatusName(want.status);
  }
  if (got.value.index() != want.value.index()) {
    return ::testing::AssertionFailure() << "value kinds " << got.value.index()
                                         << " != " << want.value.index();
  }
  if (const double* g = std::get_if<double>(&got.value)) {
    const double w = std::get<double>(want.value);
    if (std::memcmp(g, &w, sizeof(double)) != 0) {
      return ::testing::AssertionFailure() << "double " << *g << " != " << w << " (bits differ)";
    }
    return ::testing::AssertionSuccess();
  }
  if (got.value != want.value) return ::testing::AssertionFailure() << "values differ";
  return ::testing::AssertionSuccess();
}

// Row `row` of an output column as a FeatureValue.
inline FeatureValue ValueAt(const FeatureColumn& column, size_t row) {
  return FeatureValue{column.status[row], column.Get(row)};
}

}  // namespace mlops::features::testing
