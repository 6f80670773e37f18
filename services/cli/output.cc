#include "services/cli/output.h"

#include <cstdio>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
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

}  // namespace mlops::cli
