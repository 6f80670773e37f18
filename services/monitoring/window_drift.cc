#include "services/monitoring/window_drift.h"

#include <cmath>
#include <deque>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mlops::monitoring {
namespace {

// Storage the FeatureDriftInputs point into.
struct InputStorage {
  std::deque<SortedSample> samples;
  std::deque<CategoryCounts> categories;
};

CategoryCounts CurrentCategories(const FeatureWindow& f) {
  CategoryCounts c;
  c.categories = f.categories.Top(stats::kDefaultMaxTopCategories);
  int64_t listed = 0;
  for (const stats::CategoryCount& cc : c.categories) listed += cc.count;
  c.other_count = f.categories.total() - listed;
  return c;
}

// Fills `in` for one feature; returns a note when it cannot be tested.
std::string BuildInput(const std::string& name, const stats::ColumnProfile* column,
                       const ReferenceData& reference, const WindowData& window,
                       InputStorage* storage, FeatureDriftInput* in) {
  in->name = name;
  if (column == nullptr) return "no reference column";
  auto cur = window.features.find(name);
  if (cur == window.features.end() || cur->second.count == 0) return "no values in the window";
  const FeatureWindow& f = cur->second;
  if (IsCategoricalColumn(column->type)) {
    in->kind = FeatureKind::kCategorical;
    CategoryCounts ref;
    ref.categories = column->top_categories;
    ref.other_count = column->other_category_count;
    storage->categories.push_back(std::move(ref));
    in->reference_categories = &storage->categories.back();
    storage->categories.push_back(CurrentCategories(f));
    in->current_categories = &storage->categories.back();
    return "";
  }
  in->kind = FeatureKind::kNumerical;
  NumericalFeatureData& d = in->numerical;
  auto sample = reference.samples.find(name);
  if (sample != reference.samples.end() && !sample->second.empty()) {
    d.reference_values = &sample->second;
  }
  if (!column->histogram.edges.empty()) {
    d.reference_histogram = {&column->histogram, column->min, column->max};
  }
  d.reference_stddev = column->stddev;
  d.distinct_values = static_cast<int64_t>(std::llround(column->distinct_estimate));
  if (f.raw_complete && !f.raw.empty()) {
    absl::StatusOr<SortedSample> s = SortedSample::FromValues(f.raw);
    if (s.ok()) {
      storage->samples.push_back(*std::move(s));
      d.current_values = &storage->samples.back();
    }
  }
  if (f.histogram.has_value()) {
    d.current_histogram = {&f.histogram->data(), f.min, f.max};
  }
  if (d.current_values == nullptr && d.current_histogram.histogram == nullptr) {
    return "window holds neither raw values nor a histogram on the reference's edges";
  }
  return "";
}

std::string AutoReason(const FeatureDriftResult& r) {
  return absl::StrCat("auto: ", r.kind == FeatureKind::kCategorical ? "categorical" : "numeric",
                      ", ", r.distinct_values, " unique, reference ", r.reference_count, " rows");
}

void Finish(const FeatureDriftInput& in, const DriftSettings& settings, FeatureDriftOutcome* out) {
  FeatureDriftResult& r = out->result;
  out->computed = r.status.ok();
  if (!out->computed) {
    out->note = std::string(r.status.message());
    return;
  }
  const bool explicit_threshold = in.override.has_value() && in.override->threshold.has_value();
  out->test_reason = in.override.has_value() ? "override" : AutoReason(r);
  if (explicit_threshold) return;
  auto t = settings.thresholds.find(r.test);
  if (t != settings.thresholds.end()) {
    r.threshold = t->second;
    r.drifted = IsDrifted(r.test, r.score, r.threshold);
  }
}

}  // namespace

bool IsCategoricalColumn(stats::DataType type) {
  return type == stats::DataType::kString || type == stats::DataType::kBool;
}

WindowDriftReport ComputeWindowDrift(const ReferenceData& reference, const WindowData& window,
                                     const std::vector<std::string>& features,
                                     const DriftSettings& settings) {
  std::vector<std::string> names = features;
  if (names.empty()) {
    for (const stats::ColumnProfile& c : reference.profile.columns) names.push_back(c.name);
  }
  InputStorage storage;
  std::vector<FeatureDriftInput> inputs(names.size() + 1);
  std::vector<std::string> notes(names.size() + 1);
  for (size_t i = 0; i <= names.size(); ++i) {
    const bool is_prediction = i == names.size();
    const std::string name = is_prediction ? kPredictionFeature : names[i];
    const stats::ColumnProfile* column =
        is_prediction
            ? (reference.prediction_profile.has_value() ? &*reference.prediction_profile : nullptr)
            : reference.profile.Find(name);
    notes[i] = BuildInput(name, column, reference, window, &storage, &inputs[i]);
    auto o = settings.overrides.find(name);
    if (o != settings.overrides.end()) inputs[i].override = o->second;
  }
  // Only the testable inputs go to the library; the rest keep their note.
  std::vector<FeatureDriftInput> testable;
  std::vector<size_t> index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (notes[i].empty()) {
      testable.push_back(inputs[i]);
      index.push_back(i);
    }
  }
  DriftOptions options;
  options.num_threads = settings.num_threads;
  options.dataset_drift_share = settings.dataset_drift_share;
  DriftReport computed = ComputeDriftReport(testable, options);

  std::vector<FeatureDriftOutcome> outcomes(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    outcomes[i].result.name = inputs[i].name;
    outcomes[i].result.kind = inputs[i].kind;
    outcomes[i].note = notes[i];
    auto cur = window.features.find(inputs[i].name);
    if (cur != window.features.end()) outcomes[i].current_null_count = cur->second.null_count;
  }
  for (size_t k = 0; k < index.size(); ++k) {
    FeatureDriftOutcome& out = outcomes[index[k]];
    out.result = std::move(computed.features[k]);
    Finish(inputs[index[k]], settings, &out);
  }
  WindowDriftReport report;
  report.prediction = std::move(outcomes.back());
  outcomes.pop_back();
  std::vector<bool> drifted;
  for (const FeatureDriftOutcome& o : outcomes) {
    if (o.computed) drifted.push_back(o.result.drifted);
  }
  report.dataset = ComputeDatasetDrift(drifted, settings.dataset_drift_share);
  report.features = std::move(outcomes);
  return report;
}

}  // namespace mlops::monitoring
