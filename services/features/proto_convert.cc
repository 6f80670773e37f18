#include "services/features/proto_convert.h"

#include <openssl/evp.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/absl_view.h"

namespace mlops::features {
namespace {

absl::Status Invalid(const std::string& field, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", Av(what)));
}

absl::StatusOr<Aggregation> AggregationFromProto(fv1::AggregationFunction f,
                                                 const std::string& field) {
  switch (f) {
    case fv1::AGGREGATION_FUNCTION_COUNT: return Aggregation::kCount;
    case fv1::AGGREGATION_FUNCTION_SUM: return Aggregation::kSum;
    case fv1::AGGREGATION_FUNCTION_MEAN: return Aggregation::kMean;
    case fv1::AGGREGATION_FUNCTION_MIN: return Aggregation::kMin;
    case fv1::AGGREGATION_FUNCTION_MAX: return Aggregation::kMax;
    case fv1::AGGREGATION_FUNCTION_STDDEV: return Aggregation::kStddev;
    case fv1::AGGREGATION_FUNCTION_LAST: return Aggregation::kLast;
    default: return Invalid(field + ".function", "an aggregation function is required");
  }
}

// The domain definition of a filled-in spec (no dataset needed).
absl::StatusOr<FeatureViewDefinition> DefinitionFromSpec(const fv1::FeatureViewSpec& spec) {
  FeatureViewDefinition d;
  d.name = spec.name();
  d.entity_column = spec.entity_key_column();
  d.event_time_column = spec.timestamp_column();
  d.source_dataset = spec.source_dataset();
  d.ttl_micros = spec.ttl_micros();
  for (int i = 0; i < spec.features_size(); ++i) {
    const fv1::FeatureDefinition& f = spec.features(i);
    const std::string field = absl::StrCat("features[", i, "]");
    FeatureSpec fs;
    fs.name = f.name();
    if (f.has_raw()) {
      fs.source_column = f.raw().column();
    } else if (f.has_aggregation()) {
      const fv1::WindowedAggregation& a = f.aggregation();
      MLOPS_ASSIGN_OR_RETURN(fs.aggregation,
                             AggregationFromProto(a.function(), field + ".aggregation"));
      fs.window_micros = a.window_micros();
      if (a.window_micros() > kMaxWindowMicros) {
        return Invalid(field + ".aggregation.window_micros",
                       absl::StrCat(a.window_micros(), " is longer than 3650 days"));
      }
      fs.source_column = a.column();
      if (a.column().empty()) {
        if (fs.aggregation != Aggregation::kCount) {
          return Invalid(field + ".aggregation.column", "required except for COUNT");
        }
        fs.source_column = spec.entity_key_column();  // never NULL: counts events
      }
    } else {
      return Invalid(field, "exactly one of raw or aggregation must be set");
    }
    d.features.push_back(std::move(fs));
  }
  return d;
}

// Rewrites the domain's messages, which name features by index, in the
// proto's field terms where they differ.
absl::Status CheckColumnsExist(const fv1::FeatureViewSpec& spec, const SourceSchema& schema) {
  for (int i = 0; i < spec.features_size(); ++i) {
    const fv1::FeatureDefinition& f = spec.features(i);
    const std::string& column = f.has_raw() ? f.raw().column() : f.aggregation().column();
    if (column.empty() && f.has_aggregation()) continue;
    if (schema.FindColumn(column) < 0) {
      return Invalid(absl::StrCat("features[", i, "].", f.has_raw() ? "raw" : "aggregation",
                                  ".column \"", column, "\""),
                     absl::StrCat("no such column in dataset \"", spec.source_dataset(), "\""));
    }
  }
  return absl::OkStatus();
}

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

// The domain encoding covers what is computed; the rest of the spec
// (descriptions, labels, policy, an empty COUNT column) is part of the
// definition too.
std::string DefinitionHash(const fv1::FeatureViewSpec& spec, const FeatureViewDefinition& d) {
  std::string text = d.CanonicalEncoding();
  auto field = [&](std::string_view key, const std::string& value) {
    absl::StrAppend(&text, Av(key), "=", value.size(), ":", value, ";");
  };
  field("description", spec.description());
  field("policy", absl::StrCat(static_cast<int>(spec.materialization())));
  for (const fv1::FeatureDefinition& f : spec.features()) {
    field("feature_description", f.description());
    field("count_events", f.has_aggregation() && f.aggregation().column().empty() ? "1" : "0");
  }
  std::map<std::string, std::string> labels(spec.labels().begin(), spec.labels().end());
  for (const auto& [k, v] : labels) field(k, v);
  return Sha256Hex(text);
}

}  // namespace

absl::StatusOr<DataType> DataTypeFromProto(cv1::DataType type) {
  switch (type) {
    case cv1::DATA_TYPE_INT64: return DataType::kInt64;
    case cv1::DATA_TYPE_DOUBLE: return DataType::kDouble;
    case cv1::DATA_TYPE_STRING: return DataType::kString;
    case cv1::DATA_TYPE_BOOL: return DataType::kBool;
    case cv1::DATA_TYPE_TIMESTAMP: return DataType::kTimestamp;
    default: return absl::InvalidArgumentError(absl::StrCat("unknown data type ", type));
  }
}

cv1::DataType DataTypeToProto(DataType type) { return static_cast<cv1::DataType>(type); }

absl::StatusOr<SourceSchema> SourceSchemaFromProto(const cv1::Schema& schema) {
  SourceSchema out;
  for (const cv1::Column& c : schema.columns()) {
    MLOPS_ASSIGN_OR_RETURN(DataType t, DataTypeFromProto(c.type()));
    out.columns.push_back(SourceColumn{c.name(), t, c.nullable()});
  }
  return out;
}

void ValueToProto(const Value& value, cv1::Value* out) {
  switch (value.index()) {
    case 0: out->Clear(); break;
    case 1: out->set_int64_value(std::get<int64_t>(value)); break;
    case 2: out->set_double_value(std::get<double>(value)); break;
    case 3: out->set_string_value(std::get<std::string>(value)); break;
    case 4: out->set_bool_value(std::get<bool>(value)); break;
    case 5: out->set_timestamp_micros(std::get<TimestampMicros>(value).micros); break;
  }
}

absl::StatusOr<Value> ValueFromProto(const cv1::Value& v, DataType type,
                                     const std::string& where) {
  if (v.kind_case() == cv1::Value::KIND_NOT_SET) return Value{};
  const cv1::DataType got = static_cast<cv1::DataType>(v.kind_case());
  if (got == DataTypeToProto(type)) {
    switch (type) {
      case DataType::kInt64: return Value{v.int64_value()};
      case DataType::kDouble: return Value{v.double_value()};
      case DataType::kString: return Value{v.string_value()};
      case DataType::kBool: return Value{v.bool_value()};
      case DataType::kTimestamp: return Value{TimestampMicros{v.timestamp_micros()}};
    }
  }
  if (type == DataType::kDouble && got == cv1::DATA_TYPE_INT64) {
    return Value{static_cast<double>(v.int64_value())};
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": expected ", Av(DataTypeName(type)), ", got ",
                   Av(DataTypeName(static_cast<DataType>(got)))));
}

void AppendToColumn(const Value& value, ColumnVector* column) {
  const bool is_null = value.index() == 0;
  if (is_null || !column->nulls.empty()) {
    column->nulls.resize(column->size(), 0);  // the mask starts at the first NULL
    column->nulls.push_back(is_null ? 1 : 0);
  }
  ValueVector& v = column->values;
  switch (v.type) {
    case DataType::kInt64: v.ints.push_back(is_null ? 0 : std::get<int64_t>(value)); break;
    case DataType::kDouble: v.doubles.push_back(is_null ? 0 : std::get<double>(value)); break;
    case DataType::kString:
      v.strings.push_back(is_null ? std::string() : std::get<std::string>(value));
      break;
    case DataType::kBool: v.ints.push_back(!is_null && std::get<bool>(value)); break;
    case DataType::kTimestamp:
      v.ints.push_back(is_null ? 0 : std::get<TimestampMicros>(value).micros);
      break;
  }
}

bool AppendProtoValue(const cv1::Value& v, ColumnVector* column) {
  ValueVector& out = column->values;
  const auto kind = v.kind_case();
  if (kind == cv1::Value::KIND_NOT_SET) {
    AppendToColumn(Value{}, column);
    return true;
  }
  switch (out.type) {
    case DataType::kInt64:
      if (kind != cv1::Value::kInt64Value) return false;
      out.ints.push_back(v.int64_value());
      break;
    case DataType::kDouble:
      if (kind == cv1::Value::kDoubleValue) {
        out.doubles.push_back(v.double_value());
      } else if (kind == cv1::Value::kInt64Value) {
        out.doubles.push_back(static_cast<double>(v.int64_value()));
      } else {
        return false;
      }
      break;
    case DataType::kString:
      if (kind != cv1::Value::kStringValue) return false;
      out.strings.push_back(v.string_value());
      break;
    case DataType::kBool:
      if (kind != cv1::Value::kBoolValue) return false;
      out.ints.push_back(v.bool_value() ? 1 : 0);
      break;
    case DataType::kTimestamp:
      if (kind != cv1::Value::kTimestampMicros) return false;
      out.ints.push_back(v.timestamp_micros());
      break;
  }
  if (!column->nulls.empty()) column->nulls.push_back(0);
  return true;
}

void FeatureValueToProto(const FeatureColumn& column, size_t row, cv1::Value* out) {
  if (column.status[row] != ValueStatus::kPresent) return;
  const ValueVector& v = column.values;
  switch (v.type) {
    case DataType::kInt64: out->set_int64_value(v.ints[row]); break;
    case DataType::kDouble: out->set_double_value(v.doubles[row]); break;
    case DataType::kString: out->set_string_value(v.strings[row]); break;
    case DataType::kBool: out->set_bool_value(v.ints[row] != 0); break;
    case DataType::kTimestamp: out->set_timestamp_micros(v.ints[row]); break;
  }
}

absl::StatusOr<ResolvedSpec> ResolveSpec(const fv1::FeatureViewSpec& in,
                                         const cv1::Schema& dataset_schema) {
  ResolvedSpec out;
  out.spec = in;
  fv1::FeatureViewSpec& spec = out.spec;
  if (spec.description().size() > 4096) return Invalid("description", "longer than 4096 bytes");
  if (spec.labels_size() > 64) return Invalid("labels", "more than 64 entries");
  for (const auto& [k, v] : spec.labels()) {
    if (!IsValidName(k)) return Invalid(absl::StrCat("labels[\"", k, "\"]"), "bad key");
    if (v.size() > 256) return Invalid(absl::StrCat("labels[\"", k, "\"]"), "value too long");
  }
  for (int i = 0; i < spec.features_size(); ++i) {
    if (spec.features(i).description().size() > 1024) {
      return Invalid(absl::StrCat("features[", i, "].description"), "longer than 1024 bytes");
    }
  }
  if (spec.materialization() == fv1::MATERIALIZATION_POLICY_UNSPECIFIED) {
    spec.set_materialization(fv1::MATERIALIZATION_POLICY_AUTO);
  }
  if (spec.timestamp_column().empty()) {
    for (const cv1::Column& c : dataset_schema.columns()) {
      if (c.role() == cv1::COLUMN_ROLE_EVENT_TIMESTAMP) {
        spec.set_timestamp_column(c.name());
        break;
      }
    }
    if (spec.timestamp_column().empty()) {
      return Invalid("timestamp_column", absl::StrCat("none given and dataset \"",
                                                      spec.source_dataset(),
                                                      "\" has no EVENT_TIMESTAMP column"));
    }
  }
  MLOPS_ASSIGN_OR_RETURN(out.definition, DefinitionFromSpec(spec));
  MLOPS_ASSIGN_OR_RETURN(SourceSchema schema, SourceSchemaFromProto(dataset_schema));
  if (!IsValidName(spec.name())) {
    return Invalid("name", absl::StrCat("\"", spec.name(),
                                        "\" breaks the naming rule [a-z][a-z0-9_]{0,62}"));
  }
  if (spec.features_size() > 0 && spec.features_size() <= static_cast<int>(kMaxFeaturesPerView)) {
    MLOPS_RETURN_IF_ERROR(CheckColumnsExist(spec, schema));
  }
  MLOPS_RETURN_IF_ERROR(out.definition.Validate(schema));
  out.entity_key_type = schema.columns[schema.FindColumn(spec.entity_key_column())].type;
  for (int i = 0; i < spec.features_size(); ++i) {
    const FeatureSpec& f = out.definition.features[i];
    const DataType source = schema.columns[schema.FindColumn(f.source_column)].type;
    cv1::Column* c = out.feature_schema.add_columns();
    c->set_name(f.name);
    c->set_type(DataTypeToProto(FeatureOutputType(f.aggregation, source)));
    c->set_nullable(true);
    c->set_role(cv1::COLUMN_ROLE_FEATURE);
    c->set_description(spec.features(i).description());
  }
  out.definition_hash = DefinitionHash(spec, out.definition);
  return out;
}

absl::StatusOr<FeatureViewDefinition> DefinitionFromView(const fv1::FeatureView& view) {
  MLOPS_ASSIGN_OR_RETURN(FeatureViewDefinition d, DefinitionFromSpec(view.spec()));
  d.version = view.version();
  return d;
}

}  // namespace mlops::features
