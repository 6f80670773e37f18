#include "services/monitoring/prediction_log_packing.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mlops::monitoring {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "big-endian hosts: drop the swaps");

constexpr char kFormatVersion = 1;

uint64_t ToBig64(uint64_t v) { return __builtin_bswap64(v); }
uint32_t ToBig32(uint32_t v) { return __builtin_bswap32(v); }

void Put64(uint64_t v, char* out) {
  v = ToBig64(v);
  std::memcpy(out, &v, sizeof(v));
}

void Put32(uint32_t v, char* out) {
  v = ToBig32(v);
  std::memcpy(out, &v, sizeof(v));
}

uint64_t Get64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return ToBig64(v);
}

uint32_t Get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return ToBig32(v);
}

// Appends n big-endian int32 lengths of `get(i)` and returns their total.
template <typename Get>
size_t PutLengths(size_t n, Get get, std::string* out) {
  const size_t at = out->size();
  out->resize(at + 4 * n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t len = get(i).size();
    Put32(static_cast<uint32_t>(len), out->data() + at + 4 * i);
    total += len;
  }
  return total;
}

absl::Status Damaged(const char* column, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("prediction_batches.", column, ": ", what));
}

// Reads n big-endian int32 lengths at `p`; *total = their sum.
std::vector<uint32_t> Lengths(const char* p, size_t n, size_t* total) {
  std::vector<uint32_t> out(n);
  *total = 0;
  for (size_t i = 0; i < n; ++i) {
    out[i] = Get32(p + 4 * i);
    *total += out[i];
  }
  return out;
}

}  // namespace

PackedPredictionBatch PackPredictionBatch(const PredictionLogBatch& b) {
  PackedPredictionBatch out;
  const size_t n = b.size();
  if (n > 0) {
    out.min_timestamp_micros = std::numeric_limits<int64_t>::max();
    out.max_timestamp_micros = std::numeric_limits<int64_t>::min();
  }
  std::string& m = out.meta;
  m.reserve(1 + n * (8 + 8 + 8 + 1 + 12 + 24));
  m.push_back(kFormatVersion);
  size_t at = m.size();
  m.resize(at + n * (8 + 8 + 8 + 1));
  char* p = m.data() + at;
  for (size_t i = 0; i < n; ++i) {
    const int64_t ts = b.timestamp_micros(i);
    out.min_timestamp_micros = std::min(out.min_timestamp_micros, ts);
    out.max_timestamp_micros = std::max(out.max_timestamp_micros, ts);
    Put64(static_cast<uint64_t>(ts), p + 8 * i);
    Put64(static_cast<uint64_t>(b.latency_micros(i)), p + 8 * (n + i));
    const std::optional<double> score = b.score(i);
    const double s = score.value_or(0);
    uint64_t bits;
    std::memcpy(&bits, &s, sizeof(bits));
    Put64(bits, p + 8 * (2 * n + i));
    p[24 * n + i] = score.has_value() ? 1 : 0;
  }
  const size_t id_bytes = PutLengths(n, [&](size_t i) { return b.request_id(i); }, &m);
  const size_t label_bytes = PutLengths(n, [&](size_t i) { return b.predicted_label(i); }, &m);
  const size_t error_bytes = PutLengths(n, [&](size_t i) { return b.error_code(i); }, &m);
  m.reserve(m.size() + id_bytes + label_bytes + error_bytes);
  for (size_t i = 0; i < n; ++i) m.append(b.request_id(i));
  for (size_t i = 0; i < n; ++i) m.append(b.predicted_label(i));
  for (size_t i = 0; i < n; ++i) m.append(b.error_code(i));

  std::string& f = out.features;
  f.push_back(kFormatVersion);
  const size_t feature_bytes = PutLengths(n, [&](size_t i) { return b.features(i); }, &f);
  f.reserve(f.size() + feature_bytes);
  for (size_t i = 0; i < n; ++i) f.append(b.features(i));
  return out;
}

absl::StatusOr<PredictionLogBatch> UnpackPredictionBatch(const PredictionBatchKey& key,
                                                         size_t n, std::string_view meta,
                                                         std::string_view features) {
  if (meta.empty() || meta[0] != kFormatVersion) return Damaged("meta", "unknown format");
  const size_t fixed = 1 + n * (8 + 8 + 8 + 1 + 4 + 4 + 4);
  if (meta.size() < fixed) {
    return Damaged("meta", absl::StrCat(meta.size(), " bytes for ", n, " rows"));
  }
  const char* p = meta.data() + 1;
  size_t id_total = 0, label_total = 0, error_total = 0;
  const char* lengths = p + 25 * n;
  std::vector<uint32_t> id_len = Lengths(lengths, n, &id_total);
  std::vector<uint32_t> label_len = Lengths(lengths + 4 * n, n, &label_total);
  std::vector<uint32_t> error_len = Lengths(lengths + 8 * n, n, &error_total);
  if (meta.size() != fixed + id_total + label_total + error_total) {
    return Damaged("meta", absl::StrCat(meta.size(), " bytes, the lengths say ",
                                        fixed + id_total + label_total + error_total));
  }
  std::vector<uint32_t> feature_len;
  size_t feature_total = 0;
  const bool with_features = !features.empty();
  if (with_features) {
    if (features[0] != kFormatVersion || features.size() < 1 + 4 * n) {
      return Damaged("features", "unknown format or too short");
    }
    feature_len = Lengths(features.data() + 1, n, &feature_total);
    if (features.size() != 1 + 4 * n + feature_total) {
      return Damaged("features", absl::StrCat(features.size(), " bytes, the lengths say ",
                                              1 + 4 * n + feature_total));
    }
  }
  PredictionLogBatch out(key.model, key.version, key.endpoint, key.variant);
  out.Reserve(n, feature_total);
  const char* id = meta.data() + fixed;
  const char* label = id + id_total;
  const char* error = label + label_total;
  const char* feature = with_features ? features.data() + 1 + 4 * n : nullptr;
  for (size_t i = 0; i < n; ++i) {
    std::optional<double> score;
    if (p[24 * n + i] != 0) {
      const uint64_t bits = Get64(p + 8 * (2 * n + i));
      double s;
      std::memcpy(&s, &bits, sizeof(s));
      score = s;
    }
    if (with_features) {
      out.features_buffer()->append(feature, feature_len[i]);
      feature += feature_len[i];
    }
    out.Add(std::string_view(id, id_len[i]), static_cast<int64_t>(Get64(p + 8 * i)), score,
            std::string_view(label, label_len[i]), static_cast<int64_t>(Get64(p + 8 * (n + i))),
            std::string_view(error, error_len[i]));
    id += id_len[i];
    label += label_len[i];
    error += error_len[i];
  }
  return out;
}

}  // namespace mlops::monitoring
