#pragma once
// Output helpers shared by the mlopsctl commands: JSON of any proto message,
// timestamps, short ids and numbers for tables. Pure functions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "mlops/common/v1/common.pb.h"

namespace mlops::cli {

// One line of JSON with the proto field names, on stdout.
void PrintJson(const google::protobuf::Message& message);

// "2026-11-22 21:30:05" (UTC) for micros since the epoch; "-" for 0.
std::string FormatMicros(int64_t micros);

// The first 12 characters of a content hash (what git shows), or "-".
std::string ShortId(const std::string& id);

// A double in at most 6 significant digits ("0.0312", "1.5e+06").
std::string FormatNumber(double value);

// "-" for an empty string.
std::string OrDash(const std::string& s);

// The text after an enum's common prefix, lower-cased
// ("ROLLOUT_STATE_IN_PROGRESS", "ROLLOUT_STATE_" -> "in_progress").
std::string EnumText(const std::string& name, const std::string& prefix);

// A value for a table cell: numbers, strings, true/false, UTC times, "NULL".
std::string ValueText(const common::v1::Value& v);

// "a,b,7" as entity key values: integers when they parse, else strings.
std::vector<common::v1::Value> EntityValues(const std::string& list);

// Reads a proto from a JSON file (protobuf JSON mapping); the error names the
// file and the message type.
absl::Status ReadJsonFile(const std::string& path, google::protobuf::Message* message);

// A definition file in protobuf JSON holding either a request with a `spec`
// field ({"spec": {...}, ...}) or just the spec. `what` names the accepted
// forms in the error, which also names `source`.
template <typename Request>
absl::StatusOr<Request> ParseRequestOrSpecJson(const std::string& text, const std::string& source,
                                               const std::string& what) {
  Request request;
  if (google::protobuf::util::JsonStringToMessage(text, &request).ok() && request.has_spec()) {
    return request;
  }
  request.Clear();
  const auto as_spec = google::protobuf::util::JsonStringToMessage(text, request.mutable_spec());
  if (as_spec.ok()) return request;
  return absl::InvalidArgumentError(absl::StrCat(source, ": not ", what, ": ", as_spec.ToString()));
}

// "30s" as micros, for option values in messages ("5m" -> 300000000).
std::string FormatDurationMicros(int64_t micros);

}  // namespace mlops::cli
