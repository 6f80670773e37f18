#include "services/monitoring/window_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mlops::monitoring {
namespace {

int64_t FloorTo(int64_t t, int64_t size) {
  int64_t q = t / size;
  if (t % size != 0 && t < 0) --q;
  return q * size;
}

absl::Status MergeFeature(const FeatureWindow& from, int64_t cap, FeatureWindow* into) {
  if (from.numeric_count > 0) {
    if (into->numeric_count == 0) {
      into->min = from.min;
      into->max = from.max;
    } else {
      into->min = std::min(into->min, from.min);
      into->max = std::max(into->max, from.max);
    }
  }
  into->count += from.count;
  into->null_count += from.null_count;
  into->numeric_count += from.numeric_count;
  into->raw_complete = into->raw_complete && from.raw_complete;
  for (double x : from.raw) {
    if (static_cast<int64_t>(into->raw.size()) >= cap) {
      into->raw_complete = false;
      break;
    }
    into->raw.push_back(x);
  }
  into->categories.Merge(from.categories);
  if (from.histogram.has_value()) {
    if (!into->histogram.has_value()) {
      into->histogram = from.histogram;
    } else {
      absl::Status s = into->histogram->Merge(*from.histogram);
      if (!s.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("windows binned on different reference edges: ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

WindowStore::WindowStore(WindowStoreOptions options) : options_(std::move(options)) {}

void WindowStore::AddNumber(double x, FeatureWindow* f, const std::vector<double>* edges) {
  ++f->count;
  if (!std::isfinite(x)) return;
  if (f->numeric_count == 0) {
    f->min = x;
    f->max = x;
  } else {
    f->min = std::min(f->min, x);
    f->max = std::max(f->max, x);
  }
  ++f->numeric_count;
  if (static_cast<int64_t>(f->raw.size()) < options_.max_raw_values_per_feature) {
    f->raw.push_back(x);
  } else {
    f->raw_complete = false;
  }
  if (!f->histogram.has_value() && edges != nullptr) {
    absl::StatusOr<stats::FixedHistogram> h = stats::FixedHistogram::Create(*edges);
    if (h.ok()) f->histogram = *std::move(h);
  }
  if (f->histogram.has_value()) f->histogram->Add(x);
}

void WindowStore::AddValue(const LoggedValue& v, FeatureSlot* slot) {
  FeatureWindow& f = *slot->window;
  switch (v.kind) {
    case LoggedValue::Kind::kNull:
      ++f.null_count;
      return;
    case LoggedValue::Kind::kText:
      ++f.count;
      f.categories.Add(v.text);
      return;
    case LoggedValue::Kind::kNumber:
      AddNumber(v.number, &f, slot->edges);
      return;
  }
}

WindowStore::FeatureSlot* WindowStore::SlotCache::Get(size_t i, const std::string& feature) {
  FeatureSlot& slot = slots[i];
  if (slot.window == nullptr) {
    slot.window = &window->data.features[feature];
    slot.edges = nullptr;
    if (window->binning != nullptr) {
      auto it = window->binning->edges.find(feature);
      if (it != window->binning->edges.end()) slot.edges = &it->second;
    }
  }
  return &slot;
}

void WindowStore::SlotCache::Reset(Window* w, size_t features) {
  window = w;
  slots.assign(features + 1, FeatureSlot{});
}

WindowStore::AddResult WindowStore::Add(const std::string& model, int64_t version,
                                        int64_t window_micros,
                                        const std::vector<std::string>& feature_names,
                                        const std::vector<LoggedRecord>& records,
                                        std::shared_ptr<const WindowBinning> binning) {
  AddResult result;
  absl::MutexLock lock(&mu_);
  Series& series = series_[Key(model, version)];
  series.last_update = ++sequence_;
  // The feature slots of the window last added to, resolved once per window
  // and call instead of two string-keyed lookups per value.
  SlotCache cache;
  const size_t names = feature_names.size();
  const std::string prediction_feature = kPredictionFeature;
  for (const LoggedRecord& r : records) {
    const int64_t start = FloorTo(r.timestamp_micros, window_micros);
    auto it = series.windows.find(start);
    if (it == series.windows.end()) {
      cache.Reset(nullptr, names);  // windows may be erased below
      if (static_cast<int>(series.windows.size()) >= options_.max_windows_per_version &&
          start < series.windows.begin()->first) {
        ++result.late;
        continue;
      }
      Window w;
      w.data.start_micros = start;
      w.data.end_micros = start + window_micros;
      w.binning = binning;
      it = series.windows.emplace(start, std::move(w)).first;
      while (static_cast<int>(series.windows.size()) > options_.max_windows_per_version) {
        series.windows.erase(series.windows.begin());
      }
    }
    Window& w = it->second;
    if (cache.window != &w) cache.Reset(&w, names);
    ++w.data.rows;
    if (r.error) ++w.data.errors;
    if (static_cast<int64_t>(w.data.latencies_micros.size()) <
        options_.max_raw_values_per_feature) {
      w.data.latencies_micros.push_back(r.latency_micros);
    }
    const size_t n = std::min(r.features.size(), names);
    for (size_t i = 0; i < n; ++i) AddValue(r.features[i], cache.Get(i, feature_names[i]));
    LoggedValue score;
    if (r.score.has_value()) {
      score.kind = LoggedValue::Kind::kNumber;
      score.number = *r.score;
    }
    AddValue(score, cache.Get(names, prediction_feature));
    ++result.added;
  }
  return result;
}

absl::StatusOr<WindowData> WindowStore::Merge(const std::string& model, int64_t version,
                                              int64_t start, int64_t end,
                                              int* windows_merged) const {
  absl::MutexLock lock(&mu_);
  *windows_merged = 0;
  auto s = series_.find(Key(model, version));
  WindowData out;
  if (s != series_.end()) {
    for (auto it = s->second.windows.lower_bound(start); it != s->second.windows.end(); ++it) {
      if (end != 0 && it->first >= end) break;
      const WindowData& w = it->second.data;
      if (w.rows == 0) continue;
      if (*windows_merged == 0) out.start_micros = w.start_micros;
      out.end_micros = w.end_micros;
      out.rows += w.rows;
      out.errors += w.errors;
      for (int64_t l : w.latencies_micros) {
        if (static_cast<int64_t>(out.latencies_micros.size()) >=
            options_.max_raw_values_per_feature) {
          break;
        }
        out.latencies_micros.push_back(l);
      }
      for (const auto& [name, f] : w.features) {
        auto [slot, inserted] = out.features.try_emplace(name);
        if (inserted) {
          slot->second = f;
        } else {
          absl::Status st = MergeFeature(f, options_.max_raw_values_per_feature, &slot->second);
          if (!st.ok()) return st;
        }
      }
      ++*windows_merged;
    }
  }
  if (*windows_merged == 0) {
    return absl::NotFoundError(
        absl::StrCat("no window with data for ", model, "@", version, " in the range"));
  }
  return out;
}

std::optional<int64_t> WindowStore::LatestWindowStart(const std::string& model, int64_t version,
                                                      int64_t now_micros, bool include_open) const {
  absl::MutexLock lock(&mu_);
  auto s = series_.find(Key(model, version));
  if (s == series_.end()) return std::nullopt;
  for (auto it = s->second.windows.rbegin(); it != s->second.windows.rend(); ++it) {
    if (include_open || it->second.data.end_micros <= now_micros) return it->first;
  }
  return std::nullopt;
}

std::vector<std::string> WindowStore::Models() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [key, series] : series_) {
    if (out.empty() || out.back() != std::get<0>(key)) out.push_back(std::get<0>(key));
  }
  return out;
}

std::vector<int64_t> WindowStore::Versions(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> out;
  for (auto it = series_.lower_bound(Key(model, std::numeric_limits<int64_t>::min()));
       it != series_.end() && std::get<0>(it->first) == model; ++it) {
    if (!it->second.windows.empty()) out.push_back(std::get<1>(it->first));
  }
  return out;
}

std::optional<int64_t> WindowStore::LatestVersion(const std::string& model) const {
  absl::MutexLock lock(&mu_);
  std::optional<int64_t> best;
  int64_t best_seq = -1;
  for (auto it = series_.lower_bound(Key(model, std::numeric_limits<int64_t>::min()));
       it != series_.end() && std::get<0>(it->first) == model; ++it) {
    if (it->second.last_update > best_seq) {
      best_seq = it->second.last_update;
      best = std::get<1>(it->first);
    }
  }
  return best;
}

}  // namespace mlops::monitoring
