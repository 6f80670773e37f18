#include "common/stats/quantile_sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/stats/byte_io.h"

namespace mlops::stats {
namespace {

constexpr int kMinK = 8;
constexpr int kMaxK = 1 << 20;
constexpr size_t kMaxLevels = 62;

int NormalizeK(int k) {
  k = std::clamp(k, kMinK, kMaxK);
  return k + (k % 2);
}

}  // namespace

QuantileSketch::QuantileSketch(int k) : k_(NormalizeK(k)), levels_(1) {}

void QuantileSketch::Add(double x) {
  min_ = count_ == 0 ? x : std::min(min_, x);
  max_ = count_ == 0 ? x : std::max(max_, x);
  ++count_;
  levels_[0].items.push_back(x);
  if (levels_[0].items.size() >= static_cast<size_t>(k_)) CompactFrom(0);
}

void QuantileSketch::CompactFrom(size_t h) {
  // Bounded by the number of levels, at most kMaxLevels (2^62 items).
  for (; h < levels_.size() && h + 1 < kMaxLevels; ++h) {
    if (levels_[h].items.size() < static_cast<size_t>(k_)) continue;
    if (h + 1 == levels_.size()) levels_.emplace_back();
    Level& level = levels_[h];
    std::vector<double>& items = level.items;
    // Levels above 0 are kept sorted (promoted runs are merged in), so only
    // level 0 needs a sort.
    if (h == 0) sorter_.Sort(&items);
    const size_t even = items.size() - items.size() % 2;
    std::vector<double>& up = levels_[h + 1].items;
    const size_t old_size = up.size();
    for (size_t i = level.next_offset; i < even; i += 2) up.push_back(items[i]);
    std::inplace_merge(up.begin(), up.begin() + old_size, up.end());
    if (even < items.size()) {
      items[0] = items.back();  // the odd one out stays at this level
      items.resize(1);
    } else {
      items.clear();
    }
    level.next_offset ^= 1;
    ++level.compactions;
  }
}

absl::Status QuantileSketch::Merge(const QuantileSketch& other) {
  // An empty sketch is the identity, whatever its k.
  if (other.count_ == 0) return absl::OkStatus();
  if (count_ == 0) {
    *this = other;
    return absl::OkStatus();
  }
  if (other.k_ != k_) {
    return absl::FailedPreconditionError(
        absl::StrCat("quantile sketches with different k do not merge: ", k_, " vs ", other.k_));
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  if (levels_.size() < other.levels_.size()) levels_.resize(other.levels_.size());
  for (size_t h = 0; h < other.levels_.size(); ++h) {
    const Level& src = other.levels_[h];
    std::vector<double>& items = levels_[h].items;
    const size_t old_size = items.size();
    items.insert(items.end(), src.items.begin(), src.items.end());
    if (h > 0) std::inplace_merge(items.begin(), items.begin() + old_size, items.end());
    levels_[h].compactions += src.compactions;
  }
  CompactFrom(0);
  return absl::OkStatus();
}

std::vector<std::pair<double, int64_t>> QuantileSketch::WeightedItems() const {
  std::vector<std::pair<double, int64_t>> out;
  for (size_t h = 0; h < levels_.size(); ++h) {
    const int64_t w = int64_t{1} << h;
    for (double x : levels_[h].items) out.emplace_back(x, w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t QuantileSketch::Rank(double x) const {
  int64_t rank = 0;
  for (size_t h = 0; h < levels_.size(); ++h) {
    for (double v : levels_[h].items) {
      if (v <= x) rank += int64_t{1} << h;
    }
  }
  return rank;
}

std::vector<double> QuantileSketch::Quantiles(const std::vector<double>& qs) const {
  std::vector<double> out;
  out.reserve(qs.size());
  if (count_ == 0) {
    out.assign(qs.size(), std::numeric_limits<double>::quiet_NaN());
    return out;
  }
  const std::vector<std::pair<double, int64_t>> items = WeightedItems();
  const double n = static_cast<double>(count_);
  for (double q : qs) {
    if (!(q > 0)) {
      out.push_back(min_);
      continue;
    }
    if (q >= 1) {
      out.push_back(max_);
      continue;
    }
    // A relative tolerance so that e.g. 0.07 * 100 = 7.000000000000001
    // targets rank 7, not 8.
    const double target = q * n * (1 - 1e-12);
    int64_t cumulative = 0;
    double answer = max_;
    for (const auto& [value, weight] : items) {
      cumulative += weight;
      if (static_cast<double>(cumulative) >= target) {
        answer = value;
        break;
      }
    }
    out.push_back(answer);
  }
  return out;
}

double QuantileSketch::Quantile(double q) const { return Quantiles({q}).front(); }

int64_t QuantileSketch::MaxRankError() const {
  int64_t error = 0;
  for (size_t h = 0; h < levels_.size(); ++h) {
    error += static_cast<int64_t>(levels_[h].compactions) << h;
  }
  return error;
}

std::string QuantileSketch::Serialize() const {
  std::string out;
  ByteWriter w(&out);
  w.U8(kFormatVersion);
  w.U32(static_cast<uint32_t>(k_));
  w.U64(static_cast<uint64_t>(count_));
  w.F64(min_);
  w.F64(max_);
  w.U32(static_cast<uint32_t>(levels_.size()));
  for (const Level& level : levels_) {
    w.U64(level.compactions);
    w.U8(level.next_offset);
    w.U32(static_cast<uint32_t>(level.items.size()));
    for (double x : level.items) w.F64(x);
  }
  return out;
}

absl::StatusOr<QuantileSketch> QuantileSketch::Deserialize(std::string_view bytes) {
  const auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("quantile sketch: ", what));
  };
  ByteReader r(bytes);
  uint8_t version;
  if (!r.U8(&version)) return bad("empty");
  if (version != kFormatVersion) return bad(absl::StrCat("unknown format version ", version));
  uint32_t k, num_levels;
  uint64_t count;
  double min, max;
  if (!r.U32(&k) || !r.U64(&count) || !r.F64(&min) || !r.F64(&max) || !r.U32(&num_levels)) {
    return bad("truncated header");
  }
  if (k < kMinK || k > kMaxK || k % 2 != 0) return bad(absl::StrCat("invalid k ", k));
  if (num_levels < 1 || num_levels > kMaxLevels) return bad("invalid level count");
  QuantileSketch sketch(static_cast<int>(k));
  sketch.count_ = static_cast<int64_t>(count);
  sketch.min_ = min;
  sketch.max_ = max;
  sketch.levels_.resize(num_levels);
  uint64_t weight = 0;
  for (uint32_t h = 0; h < num_levels; ++h) {
    Level& level = sketch.levels_[h];
    uint32_t size;
    if (!r.U64(&level.compactions) || !r.U8(&level.next_offset) || !r.U32(&size)) {
      return bad("truncated level");
    }
    if (level.next_offset > 1 || size > k || r.remaining() / 8 < size ||
        (size != 0 && static_cast<uint64_t>(size) > (~uint64_t{0} >> h) - weight)) {
      return bad("invalid level");
    }
    level.items.resize(size);
    for (double& x : level.items) {
      r.F64(&x);
      if (!std::isfinite(x) || x < min || x > max) return bad("item outside [min, max]");
    }
    if (h > 0 && !std::is_sorted(level.items.begin(), level.items.end())) {
      return bad("level above 0 is not sorted");
    }
    weight += static_cast<uint64_t>(size) << h;
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  if (weight != count) return bad("item weights do not sum to the count");
  return sketch;
}

}  // namespace mlops::stats
