#include "services/features/feature_view.h"

#include <openssl/evp.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "services/features/absl_view.h"
#include "common/status/status_macros.h"

namespace mlops::features {
namespace {

bool IsNumeric(DataType t) { return t == DataType::kInt64 || t == DataType::kDouble; }

// Which source types an aggregation accepts.
bool AcceptsType(Aggregation aggregation, DataType t) {
  switch (aggregation) {
    case Aggregation::kRaw:
    case Aggregation::kCount:
    case Aggregation::kLast:
      return true;
    case Aggregation::kSum:
    case Aggregation::kMean:
    case Aggregation::kStddev:
      return IsNumeric(t) || t == DataType::kBool;  // BOOL: true = 1
    case Aggregation::kMin:
    case Aggregation::kMax:
      return IsNumeric(t) || t == DataType::kTimestamp;
  }
  return false;
}

std::string Quoted(std::string_view s) { return absl::StrCat("\"", Av(s), "\""); }

absl::Status CheckName(std::string_view field, std::string_view name) {
  if (IsValidName(name)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      Av(field), ": ", Quoted(name), " breaks the naming rule [a-z][a-z0-9_]{0,62}"));
}

absl::Status CheckDuration(std::string_view field, int64_t micros, bool zero_ok) {
  if (micros < 0 || (micros == 0 && !zero_ok) || micros > kMaxDurationMicros) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(field), ": ", micros, " micros is out of range (", zero_ok ? "0" : "1",
        " to ", kMaxDurationMicros, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateFeature(const FeatureSpec& f, size_t i, const SourceSchema& schema) {
  const std::string field = absl::StrCat("features[", i, "]");
  MLOPS_RETURN_IF_ERROR(CheckName(absl::StrCat(field, ".name"), f.name));
  const std::string where = absl::StrCat("feature ", Quoted(f.name), " (", field, ")");
  if (static_cast<int>(f.aggregation) > static_cast<int>(Aggregation::kLast)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown aggregation"));
  }
  const int col = schema.FindColumn(f.source_column);
  if (col < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": source column ", Quoted(f.source_column), " is not in the dataset"));
  }
  const DataType type = schema.columns[col].type;
  if (!AcceptsType(f.aggregation, type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", Av(AggregationName(f.aggregation)), " cannot aggregate column ",
        Quoted(f.source_column), " of type ", Av(DataTypeName(type))));
  }
  if (f.aggregation == Aggregation::kRaw) {
    if (f.window_micros != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a raw feature takes no window"));
    }
    return absl::OkStatus();
  }
  return CheckDuration(absl::StrCat(where, ".window_micros"), f.window_micros,
                       /*zero_ok=*/false);
}

void AppendField(std::string* out, std::string_view key, std::string_view value) {
  absl::StrAppend(out, Av(key), "=", value.size(), ":", Av(value), ";");
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string_view AggregationName(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kRaw: return "raw";
    case Aggregation::kCount: return "count";
    case Aggregation::kSum: return "sum";
    case Aggregation::kMean: return "mean";
    case Aggregation::kMin: return "min";
    case Aggregation::kMax: return "max";
    case Aggregation::kStddev: return "stddev";
    case Aggregation::kLast: return "last";
  }
  return "unknown";
}

int SourceSchema::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

DataType FeatureOutputType(Aggregation aggregation, DataType source_type) {
  switch (aggregation) {
    case Aggregation::kCount: return DataType::kInt64;
    case Aggregation::kSum:
      return source_type == DataType::kBool ? DataType::kInt64 : source_type;
    case Aggregation::kMean:
    case Aggregation::kStddev: return DataType::kDouble;
    default: return source_type;
  }
}

absl::Status FeatureViewDefinition::Validate(const SourceSchema& schema) const {
  MLOPS_RETURN_IF_ERROR(CheckName("name", name));
  MLOPS_RETURN_IF_ERROR(CheckName("source_dataset", source_dataset));
  const int entity = schema.FindColumn(entity_column);
  if (entity < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entity_column: ", Quoted(entity_column), " is not in the dataset"));
  }
  const DataType entity_type = schema.columns[entity].type;
  if (entity_type != DataType::kInt64 && entity_type != DataType::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "entity_column: ", Quoted(entity_column), " is ", Av(DataTypeName(entity_type)),
        "; an entity key must be INT64 or STRING"));
  }
  const int time = schema.FindColumn(event_time_column);
  if (time < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event_time_column: ", Quoted(event_time_column), " is not in the dataset"));
  }
  if (schema.columns[time].type != DataType::kTimestamp) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event_time_column: ", Quoted(event_time_column), " is ",
        Av(DataTypeName(schema.columns[time].type)), "; it must be TIMESTAMP"));
  }
  MLOPS_RETURN_IF_ERROR(CheckDuration("ttl_micros", ttl_micros, /*zero_ok=*/true));
  if (features.empty() || features.size() > kMaxFeaturesPerView) {
    return absl::InvalidArgumentError(absl::StrCat(
        "features: a view needs 1 to ", kMaxFeaturesPerView, " features, got ",
        features.size()));
  }
  std::set<std::string_view> seen;
  for (size_t i = 0; i < features.size(); ++i) {
    MLOPS_RETURN_IF_ERROR(ValidateFeature(features[i], i, schema));
    if (!seen.insert(features[i].name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "features[", i, "].name: ", Quoted(features[i].name), " is defined twice"));
    }
  }
  return absl::OkStatus();
}

std::string FeatureViewDefinition::CanonicalEncoding() const {
  std::string out = "feature_view/v1;";
  AppendField(&out, "name", name);
  AppendField(&out, "entity_column", entity_column);
  AppendField(&out, "event_time_column", event_time_column);
  AppendField(&out, "source_dataset", source_dataset);
  AppendField(&out, "ttl_micros", absl::StrCat(ttl_micros));
  AppendField(&out, "features", absl::StrCat(features.size()));
  for (const FeatureSpec& f : features) {
    AppendField(&out, "feature", f.name);
    AppendField(&out, "source_column", f.source_column);
    AppendField(&out, "aggregation", AggregationName(f.aggregation));
    AppendField(&out, "window_micros", absl::StrCat(f.window_micros));
  }
  return out;
}

std::string FeatureViewDefinition::Fingerprint() const {
  const std::string encoding = CanonicalEncoding();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(encoding.data(), encoding.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

}  // namespace mlops::features
