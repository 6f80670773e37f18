#pragma once

// Drift of a window (or merged windows) against a model version's reference:
// builds the inputs of ComputeDriftReport from the reference profile, the
// reference's raw samples and the window's raw values / histograms /
// categories, applies the configured thresholds and overrides, and computes
// the dataset drift share. Pure functions; no gRPC, protobuf or Postgres.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/stats/column_profile.h"
#include "services/monitoring/feature_drift.h"
#include "services/monitoring/sorted_sample.h"
#include "services/monitoring/stat_test_selection.h"
#include "services/monitoring/window_store.h"

namespace mlops::monitoring {

// A model version's reference as the drift computation needs it.
struct ReferenceData {
  stats::DatasetProfile profile;
  std::optional<stats::ColumnProfile> prediction_profile;
  // Raw reference values per numeric feature (and kPredictionFeature).
  std::map<std::string, SortedSample> samples;
};

// The configured drift decisions.
struct DriftSettings {
  double dataset_drift_share = 0.5;
  std::map<StatTest, double> thresholds;              // replaces DefaultThreshold(test)
  std::map<std::string, StatTestOverride> overrides;  // per feature
  int num_threads = 0;
};

struct FeatureDriftOutcome {
  FeatureDriftResult result;
  bool computed = false;
  std::string note;  // why not computed
  std::string test_reason;
  int64_t current_null_count = 0;
};

struct WindowDriftReport {
  std::vector<FeatureDriftOutcome> features;  // in the reference's column order
  FeatureDriftOutcome prediction;
  DatasetDrift dataset;
};

// True for the column types compared as categories (STRING, BOOL).
bool IsCategoricalColumn(stats::DataType type);

// `features`: only these (empty: every column of the reference profile).
WindowDriftReport ComputeWindowDrift(const ReferenceData& reference, const WindowData& window,
                                     const std::vector<std::string>& features,
                                     const DriftSettings& settings);

}  // namespace mlops::monitoring
