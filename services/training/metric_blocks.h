#pragma once
// The packed layout of metric history (migrations/0005_metric_blocks.sql):
// a LogMetrics message is stored as one block per metric key, each block a
// run of 24-byte points (step int8, timestamp_micros int8, value float8, big
// endian, as Postgres' int8send / float8send write them). Pure functions, no
// pqxx; header-only so the store and the unit tests share them.
//
// Order: history is ordered by (step, timestamp_micros, seq), where seq =
// block id * kSeqPerBlock + the point's index in its block (logged order).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "services/training/tracking_store.h"

namespace mlops::training {

inline constexpr size_t kMetricPointBytes = 24;
// At most this many points per block (a longer run of one key in a message
// is split); kSeqPerBlock leaves room for it in seq.
inline constexpr int kMaxPointsPerBlock = 8192;
inline constexpr int64_t kSeqPerBlock = 16384;

// One block of a message, its points at [offset, offset + 24 * n) of the
// message's packed buffer.
struct PackedBlock {
  std::string_view key;  // points into the message's MetricPoint keys
  int64_t min_step = 0;
  int64_t min_ts = 0;
  int64_t max_step = 0;
  int64_t max_ts = 0;
  int n = 0;
  size_t offset = 0;
};

// A point read back from a block, with its place in the history order.
struct HistoryPoint {
  int64_t step = 0;
  int64_t timestamp_micros = 0;
  int64_t seq = 0;
  double value = 0;
};

inline bool HistoryLess(const HistoryPoint& a, const HistoryPoint& b) {
  return std::tie(a.step, a.timestamp_micros, a.seq) <
         std::tie(b.step, b.timestamp_micros, b.seq);
}

namespace metric_blocks_internal {

inline void PutBigEndian(char* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t GetBigEndian(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

}  // namespace metric_blocks_internal

// Packs `points` into *packed as blocks: one per key (keys in first-seen
// order), points of a key in their logged order, at most kMaxPointsPerBlock
// per block. Returns the blocks, whose keys point into `points`.
inline std::vector<PackedBlock> PackMetricBlocks(const std::vector<MetricPoint>& points,
                                                 std::string* packed) {
  using metric_blocks_internal::PutBigEndian;
  // Point indexes grouped by key, keys in first-seen order.
  std::unordered_map<std::string_view, size_t> group_of;
  std::vector<std::vector<uint32_t>> groups;
  for (size_t i = 0; i < points.size(); ++i) {
    auto [it, inserted] = group_of.try_emplace(points[i].key, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(static_cast<uint32_t>(i));
  }
  packed->resize(points.size() * kMetricPointBytes);
  char* out = packed->data();
  std::vector<PackedBlock> blocks;
  size_t offset = 0;
  for (const std::vector<uint32_t>& group : groups) {
    for (size_t from = 0; from < group.size(); from += kMaxPointsPerBlock) {
      const size_t to = std::min(group.size(), from + kMaxPointsPerBlock);
      const MetricPoint& first = points[group[from]];
      PackedBlock b{first.key,  first.step, first.timestamp_micros, first.step,
                    first.timestamp_micros, static_cast<int>(to - from), offset};
      for (size_t j = from; j < to; ++j) {
        const MetricPoint& p = points[group[j]];
        b.min_step = std::min(b.min_step, p.step);
        b.min_ts = std::min(b.min_ts, p.timestamp_micros);
        b.max_step = std::max(b.max_step, p.step);
        b.max_ts = std::max(b.max_ts, p.timestamp_micros);
        uint64_t bits;
        std::memcpy(&bits, &p.value, sizeof(bits));
        PutBigEndian(out + offset, static_cast<uint64_t>(p.step));
        PutBigEndian(out + offset + 8, static_cast<uint64_t>(p.timestamp_micros));
        PutBigEndian(out + offset + 16, bits);
        offset += kMetricPointBytes;
      }
      blocks.push_back(b);
    }
  }
  return blocks;
}

// Appends the points of block `block_id` that come after `after` in the
// history order to *out. False if `packed` is not a whole number of points
// or holds more than kSeqPerBlock of them.
inline bool UnpackMetricBlock(int64_t block_id, std::string_view packed,
                              const HistoryPoint& after, std::vector<HistoryPoint>* out) {
  using metric_blocks_internal::GetBigEndian;
  if (packed.size() % kMetricPointBytes != 0 ||
      packed.size() / kMetricPointBytes > static_cast<size_t>(kSeqPerBlock)) {
    return false;
  }
  const size_t n = packed.size() / kMetricPointBytes;
  for (size_t i = 0; i < n; ++i) {
    const char* in = packed.data() + i * kMetricPointBytes;
    HistoryPoint p;
    p.step = static_cast<int64_t>(GetBigEndian(in));
    p.timestamp_micros = static_cast<int64_t>(GetBigEndian(in + 8));
    uint64_t bits = GetBigEndian(in + 16);
    std::memcpy(&p.value, &bits, sizeof(bits));
    p.seq = block_id * kSeqPerBlock + static_cast<int64_t>(i);
    if (HistoryLess(after, p)) out->push_back(p);
  }
  return true;
}

}  // namespace mlops::training
