#pragma once

// Tumbling windows of logged predictions per (model, version): per feature
// the raw values up to a cap, a histogram on the reference's edges, category
// counts; the prediction score the same way (feature "__prediction__");
// latency and error counts. Plain C++ (no gRPC, protobuf or Postgres).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/stats/category_counter.h"
#include "common/stats/fixed_histogram.h"

namespace mlops::monitoring {

inline constexpr char kPredictionFeature[] = "__prediction__";

// How one window bins its features: the reference's histogram edges per
// numeric feature (features absent here keep raw values and categories only).
// Immutable once built; shared by the windows opened while it was current.
struct WindowBinning {
  std::map<std::string, std::vector<double>> edges;  // feature -> edges
};

// One feature value of a logged record.
struct LoggedValue {
  enum class Kind { kNull, kNumber, kText };
  Kind kind = Kind::kNull;
  double number = 0;
  std::string text;
};

// One logged record, positional against the batch's feature names.
struct LoggedRecord {
  int64_t timestamp_micros = 0;
  std::vector<LoggedValue> features;
  std::optional<double> score;  // unset when the prediction failed
  int64_t latency_micros = 0;
  bool error = false;
};

// What a window (or a merge of windows) holds for one feature.
struct FeatureWindow {
  int64_t count = 0;  // non-null values
  int64_t null_count = 0;
  std::vector<double> raw;   // finite numeric values, up to the cap
  bool raw_complete = true;  // false once a value was dropped for the cap
  int64_t numeric_count = 0;
  std::optional<stats::FixedHistogram> histogram;  // on the binning's edges
  stats::CategoryCounter categories;               // text values
  double min = 0;
  double max = 0;
};

// A window's contents, copied out.
struct WindowData {
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  int64_t rows = 0;
  int64_t errors = 0;
  std::vector<int64_t> latencies_micros;  // up to the raw cap
  std::map<std::string, FeatureWindow> features;
};

struct WindowStoreOptions {
  int64_t max_raw_values_per_feature = 100000;
  // Windows kept per (model, version), newest first; older ones are dropped.
  int max_windows_per_version = 60;
};

// Thread-safe (one mutex); owns every open and recent window.
class WindowStore {
 public:
  explicit WindowStore(WindowStoreOptions options = {});

  struct AddResult {
    int64_t added = 0;
    int64_t late = 0;  // older than the oldest window still kept
  };
  // Adds records to the windows of `window_micros` (> 0) they fall in.
  // `binning` (may be null) is used for windows this call opens.
  AddResult Add(const std::string& model, int64_t version, int64_t window_micros,
                const std::vector<std::string>& feature_names,
                const std::vector<LoggedRecord>& records,
                std::shared_ptr<const WindowBinning> binning);

  // Merges the windows of (model, version) starting in [start, end) (end 0 =
  // unbounded). NOT_FOUND when none holds data; FAILED_PRECONDITION when
  // their histograms were binned on different edges.
  absl::StatusOr<WindowData> Merge(const std::string& model, int64_t version, int64_t start,
                                   int64_t end, int* windows_merged) const;

  // Start of the newest window of (model, version) ending at or before
  // `now_micros` (or the newest at all when `include_open`).
  std::optional<int64_t> LatestWindowStart(const std::string& model, int64_t version,
                                           int64_t now_micros, bool include_open) const;

  // The models holding windows, ascending.
  std::vector<std::string> Models() const;

  // The versions of `model` holding windows, ascending.
  std::vector<int64_t> Versions(const std::string& model) const;

  // The version that received records most recently.
  std::optional<int64_t> LatestVersion(const std::string& model) const;

 private:
  struct Window {
    WindowData data;
    std::shared_ptr<const WindowBinning> binning;
  };
  using Key = std::tuple<std::string, int64_t>;
  struct Series {
    std::map<int64_t, Window> windows;  // by start
    int64_t last_update = 0;            // sequence number of the last Add
  };

  // Where one feature's values of one window go.
  struct FeatureSlot {
    FeatureWindow* window = nullptr;  // null until first used
    const std::vector<double>* edges = nullptr;
  };
  // The slots of one window (feature i, then the prediction), for one Add.
  struct SlotCache {
    Window* window = nullptr;
    std::vector<FeatureSlot> slots;
    void Reset(Window* w, size_t features);
    FeatureSlot* Get(size_t i, const std::string& feature);
  };

  void AddValue(const LoggedValue& v, FeatureSlot* slot);
  void AddNumber(double x, FeatureWindow* f, const std::vector<double>* edges);

  const WindowStoreOptions options_;
  mutable absl::Mutex mu_;
  std::map<Key, Series> series_ ABSL_GUARDED_BY(mu_);
  int64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mlops::monitoring
