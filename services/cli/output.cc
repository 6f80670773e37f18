#include "services/cli/output.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/config/file_util.h"
#include "google/protobuf/util/json_util.h"

namespace mlops::cli {

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json << "\n";
}

std::string FormatMicros(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixMicros(micros), absl::UTCTimeZone());
}

std::string ShortId(const std::string& id) { return id.empty() ? "-" : id.substr(0, 12); }

std::string FormatNumber(double value) { return absl::StrFormat("%.6g", value); }

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string EnumText(const std::string& name, const std::string& prefix) {
  return absl::AsciiStrToLower(name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name);
}

std::string ValueText(const common::v1::Value& v) {
  using common::v1::Value;
  switch (v.kind_case()) {
    case Value::kInt64Value: return absl::StrCat(v.int64_value());
    case Value::kDoubleValue: return FormatNumber(v.double_value());
    case Value::kStringValue: return v.string_value();
    case Value::kBoolValue: return v.bool_value() ? "true" : "false";
    case Value::kTimestampMicros: return FormatMicros(v.timestamp_micros());
    default: return "NULL";
  }
}

std::vector<common::v1::Value> EntityValues(const std::string& list) {
  std::vector<common::v1::Value> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    common::v1::Value v;
    int64_t n = 0;
    if (absl::SimpleAtoi(part, &n)) {
      v.set_int64_value(n);
    } else {
      v.set_string_value(std::string(part));
    }
    out.push_back(std::move(v));
  }
  return out;
}

absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  const auto parsed = google::protobuf::util::JsonStringToMessage(*text, message);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a ", message->GetTypeName(),
                                                   " in JSON: ", parsed.ToString()));
  }
  return absl::OkStatus();
}

std::string FormatDurationMicros(int64_t micros) {
  if (micros == 0) return "-";
  return absl::FormatDuration(absl::Microseconds(micros));
}

}  // namespace mlops::cli
