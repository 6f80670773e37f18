// The pure recomputations of closed_loop_outcomes.h: a dataset version id
// from its rows, point-in-time features by hand, Prometheus samples. Written
// from the contracts in proto/ (and version_hash.h's encoding), not by calling
// the services' code, so that the check is independent of it.
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/integration/closed_loop_outcomes.h"

namespace mlops::testing_platform {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace fv1 = ::mlops::features::v1;

// ---- the canonical encoding (little-endian; str = u32 length + bytes) ----

void PutLe(std::string* out, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutStr(std::string* out, const std::string& s) {
  PutLe(out, s.size(), 4);
  out->append(s);
}

uint64_t DoubleBits(double d) {
  if (std::isnan(d)) return 0x7ff8000000000000ULL;
  if (d == 0.0) d = 0.0;  // -0.0 is written as +0.0
  uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  return bits;
}

void PutValue(std::string* out, const cv1::Value& v) {
  switch (v.kind_case()) {
    case cv1::Value::kInt64Value:
      out->push_back(1);
      PutLe(out, static_cast<uint64_t>(v.int64_value()), 8);
      break;
    case cv1::Value::kDoubleValue:
      out->push_back(2);
      PutLe(out, DoubleBits(v.double_value()), 8);
      break;
    case cv1::Value::kStringValue:
      out->push_back(3);
      PutStr(out, v.string_value());
      break;
    case cv1::Value::kBoolValue:
      out->push_back(4);
      out->push_back(v.bool_value() ? 1 : 0);
      break;
    case cv1::Value::kTimestampMicros:
      out->push_back(5);
      PutLe(out, static_cast<uint64_t>(v.timestamp_micros()), 8);
      break;
    case cv1::Value::KIND_NOT_SET:
      out->push_back(0);
      break;
  }
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    return "sha256 failed";
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

// ---- point in time ----

int ColumnIndex(const cv1::Schema& schema, const std::string& name) {
  for (int i = 0; i < schema.columns_size(); ++i) {
    if (schema.columns(i).name() == name) return i;
  }
  return -1;
}

bool SameKey(const cv1::Value& a, const cv1::Value& b) {
  if (a.kind_case() != b.kind_case()) return false;
  return a.kind_case() == cv1::Value::kStringValue ? a.string_value() == b.string_value()
                                                   : a.int64_value() == b.int64_value();
}

// A value an aggregation counts: not NULL, and finite if a double.
bool Counts(const cv1::Value& v) {
  if (v.kind_case() == cv1::Value::KIND_NOT_SET) return false;
  return v.kind_case() != cv1::Value::kDoubleValue || std::isfinite(v.double_value());
}

double AsDouble(const cv1::Value& v) {
  switch (v.kind_case()) {
    case cv1::Value::kDoubleValue: return v.double_value();
    case cv1::Value::kBoolValue: return v.bool_value() ? 1.0 : 0.0;
    case cv1::Value::kTimestampMicros: return static_cast<double>(v.timestamp_micros());
    default: return static_cast<double>(v.int64_value());
  }
}

int64_t AsInt(const cv1::Value& v) {
  switch (v.kind_case()) {
    case cv1::Value::kBoolValue: return v.bool_value() ? 1 : 0;
    case cv1::Value::kTimestampMicros: return v.timestamp_micros();
    default: return v.int64_value();
  }
}

cv1::Value Int(int64_t x) {
  cv1::Value v;
  v.set_int64_value(x);
  return v;
}

cv1::Value Double(double x) {
  cv1::Value v;
  v.set_double_value(x);
  return v;
}

// One windowed aggregation over `values` (the window's events' column
// values, in event order); `events` is the window's event count (what COUNT
// without a column counts).
cv1::Value Aggregate(fv1::AggregationFunction function, cv1::DataType type, bool has_column,
                     const std::vector<const cv1::Value*>& values, int64_t events) {
  std::vector<const cv1::Value*> valid;
  for (const cv1::Value* v : values) {
    if (Counts(*v)) valid.push_back(v);
  }
  if (function == fv1::AGGREGATION_FUNCTION_COUNT) {
    return Int(has_column ? static_cast<int64_t>(valid.size()) : events);
  }
  if (valid.empty()) return cv1::Value();
  const int64_t n = static_cast<int64_t>(valid.size());
  switch (function) {
    case fv1::AGGREGATION_FUNCTION_LAST: return *valid.back();
    case fv1::AGGREGATION_FUNCTION_SUM: {
      if (type == cv1::DATA_TYPE_DOUBLE) {
        double s = 0.0;
        for (const cv1::Value* v : valid) s += v->double_value();  // event order
        return Double(s);
      }
      int64_t s = 0;
      for (const cv1::Value* v : valid) {
        if (__builtin_add_overflow(s, AsInt(*v), &s)) return cv1::Value();
      }
      return Int(s);
    }
    case fv1::AGGREGATION_FUNCTION_MEAN: {
      double s = 0.0;
      for (const cv1::Value* v : valid) s += AsDouble(*v);
      return Double(s / static_cast<double>(n));
    }
    case fv1::AGGREGATION_FUNCTION_STDDEV: {
      double s = 0.0;
      for (const cv1::Value* v : valid) s += AsDouble(*v);
      const double mean = s / static_cast<double>(n);
      double m2 = 0.0;
      for (const cv1::Value* v : valid) m2 += (AsDouble(*v) - mean) * (AsDouble(*v) - mean);
      return Double(std::sqrt(m2 / static_cast<double>(n)));
    }
    case fv1::AGGREGATION_FUNCTION_MIN:
    case fv1::AGGREGATION_FUNCTION_MAX: {
      const bool want_max = function == fv1::AGGREGATION_FUNCTION_MAX;
      const cv1::Value* best = valid.front();
      for (const cv1::Value* v : valid) {
        if (want_max ? AsDouble(*best) < AsDouble(*v) : AsDouble(*v) < AsDouble(*best)) best = v;
      }
      return *best;
    }
    default: return cv1::Value();
  }
}

}  // namespace

std::string ExpectedDatasetVersionId(const std::string& dataset, const std::string& parent_id,
                                     ingestion::v1::IngestMode mode, const cv1::Schema& schema,
                                     const std::vector<cv1::Row>& batch_rows) {
  std::string bytes = "mlops.dataset_version.v1";
  PutStr(&bytes, dataset);
  PutStr(&bytes, parent_id);
  bytes.push_back(mode == ingestion::v1::INGEST_MODE_REPLACE ? 1 : 0);
  PutLe(&bytes, static_cast<uint64_t>(schema.columns_size()), 4);
  for (const cv1::Column& c : schema.columns()) {
    PutStr(&bytes, c.name());
    bytes.push_back(static_cast<char>(c.type()));
  }
  for (const cv1::Row& row : batch_rows) {
    PutLe(&bytes, static_cast<uint64_t>(row.values_size()), 4);
    for (const cv1::Value& v : row.values()) PutValue(&bytes, v);
  }
  PutLe(&bytes, batch_rows.size(), 8);
  return Sha256Hex(bytes);
}

std::vector<cv1::Value> HandComputedFeatures(const fv1::FeatureViewSpec& spec,
                                             const cv1::Schema& schema,
                                             const std::vector<cv1::Row>& rows,
                                             const cv1::Value& entity, int64_t t) {
  const int key = ColumnIndex(schema, spec.entity_key_column());
  const int ts = ColumnIndex(schema, spec.timestamp_column());
  std::vector<cv1::Value> out(spec.features_size());
  if (key < 0 || ts < 0) return out;
  // The entity's events at or before t, by time, ties in row order.
  std::vector<const cv1::Row*> events;
  for (const cv1::Row& row : rows) {
    if (SameKey(row.values(key), entity) && row.values(ts).timestamp_micros() <= t) {
      events.push_back(&row);
    }
  }
  std::stable_sort(events.begin(), events.end(), [ts](const cv1::Row* a, const cv1::Row* b) {
    return a->values(ts).timestamp_micros() < b->values(ts).timestamp_micros();
  });
  if (events.empty()) return out;  // unknown as of t: all NULL
  for (int k = 0; k < spec.features_size(); ++k) {
    const fv1::FeatureDefinition& f = spec.features(k);
    if (f.has_raw()) {
      const cv1::Row& last = *events.back();
      const int c = ColumnIndex(schema, f.raw().column());
      const int64_t age = t - last.values(ts).timestamp_micros();
      if (c >= 0 && !(spec.ttl_micros() > 0 && age > spec.ttl_micros())) out[k] = last.values(c);
      continue;
    }
    const fv1::WindowedAggregation& a = f.aggregation();
    const int c = a.column().empty() ? -1 : ColumnIndex(schema, a.column());
    std::vector<const cv1::Value*> values;
    int64_t in_window = 0;
    for (const cv1::Row* e : events) {
      if (t - a.window_micros() >= e->values(ts).timestamp_micros()) continue;  // t - w < time
      ++in_window;
      if (c >= 0) values.push_back(&e->values(c));
    }
    const cv1::DataType type = c >= 0 ? schema.columns(c).type() : cv1::DATA_TYPE_UNSPECIFIED;
    out[k] = Aggregate(a.function(), type, c >= 0, values, in_window);
  }
  return out;
}

std::string DescribeValue(const cv1::Value& v) {
  switch (v.kind_case()) {
    case cv1::Value::kInt64Value: return absl::StrCat("int64 ", v.int64_value());
    case cv1::Value::kDoubleValue:
      return absl::StrFormat("double %.17g (bits %016x)", v.double_value(), DoubleBits(v.double_value()));
    case cv1::Value::kStringValue: return absl::StrCat("string \"", v.string_value(), "\"");
    case cv1::Value::kBoolValue: return v.bool_value() ? "bool true" : "bool false";
    case cv1::Value::kTimestampMicros: return absl::StrCat("timestamp ", v.timestamp_micros());
    case cv1::Value::KIND_NOT_SET: return "NULL";
  }
  return "?";
}

double SumSamples(const std::string& page, const std::string& name,
                  const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == absl::string_view::npos || line.substr(0, name_end) != name) continue;
    std::map<std::string, std::string> found;
    size_t at = name_end;
    if (line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        const size_t eq = line.find('=', at);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key(line.substr(at, eq - at));
        std::string value;
        size_t p = eq + 2;
        for (; p < line.size() && line[p] != '"'; ++p) {
          if (line[p] == '\\' && p + 1 < line.size()) ++p;
          value.push_back(line[p]);
        }
        found[key] = value;
        at = p + 1;
        if (at < line.size() && line[at] == ',') ++at;
      }
      ++at;  // the '}'
    }
    bool match = true;
    for (const auto& [k, v] : labels) match = match && found.count(k) && found[k] == v;
    if (!match || at >= line.size()) continue;
    sum += std::strtod(std::string(line.substr(at)).c_str(), nullptr);
  }
  return sum;
}

}  // namespace mlops::testing_platform
