#pragma once
// Output helpers shared by the mlopsctl commands: JSON of any proto message,
// timestamps, short ids and numbers for tables. Pure functions.

#include <cstdint>
#include <string>

#include "google/protobuf/message.h"

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

}  // namespace mlops::cli
