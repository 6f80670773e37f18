#include "services/ingestion/csv_fields.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/ingestion/timestamp.h"

namespace mlops::ingestion {
namespace {

std::string Quoted(std::string_view text) { return ValueToString(Value(std::string(text)), 100); }

absl::Status NotA(std::string_view text, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is not ", std::string(what)));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

// from_chars accepts no leading '+'; strip it when a number follows.
std::string_view StripPlus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

}  // namespace

absl::StatusOr<int64_t> ParseInt64Field(std::string_view text) {
  const std::string_view t = StripPlus(text);
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is out of int64 range"));
  }
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return NotA(text, "an int64");
  return v;
}

absl::StatusOr<double> ParseDoubleField(std::string_view text) {
  const std::string_view t = StripPlus(text);
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(absl::StrCat(Quoted(text), " is out of double range"));
  }
  if (ec != std::errc() || end != t.data() + t.size() || t.empty()) return NotA(text, "a double");
  // from_chars also takes "nan(...)" payloads; keep to the documented tokens.
  if (std::isnan(v) && t.find('(') != std::string_view::npos) return NotA(text, "a double");
  return v;
}

absl::StatusOr<bool> ParseBoolField(std::string_view text) {
  if (text == "1" || EqualsIgnoreCase(text, "true")) return true;
  if (text == "0" || EqualsIgnoreCase(text, "false")) return false;
  return NotA(text, "a bool (expected true, false, 1 or 0)");
}

absl::StatusOr<Timestamp> ParseTimestampField(std::string_view text,
                                              bool integer_timestamps_are_micros) {
  absl::StatusOr<int64_t> micros = ParseRfc3339Micros(text);
  if (micros.ok()) return Timestamp{*micros};
  if (integer_timestamps_are_micros) {
    absl::StatusOr<int64_t> integer = ParseInt64Field(text);
    if (integer.ok()) return Timestamp{*integer};
  }
  return absl::InvalidArgumentError(
      absl::StrCat(Quoted(text), " is not a timestamp: ", micros.status().message()));
}

absl::StatusOr<Value> ParseTypedField(DataType type, std::string_view text,
                                      bool integer_timestamps_are_micros) {
  switch (type) {
    case DataType::kInt64: {
      absl::StatusOr<int64_t> v = ParseInt64Field(text);
      if (!v.ok()) return v.status();
      return Value(*v);
    }
    case DataType::kDouble: {
      absl::StatusOr<double> v = ParseDoubleField(text);
      if (!v.ok()) return v.status();
      return Value(*v);
    }
    case DataType::kBool: {
      absl::StatusOr<bool> v = ParseBoolField(text);
      if (!v.ok()) return v.status();
      return Value(*v);
    }
    case DataType::kTimestamp: {
      absl::StatusOr<Timestamp> v = ParseTimestampField(text, integer_timestamps_are_micros);
      if (!v.ok()) return v.status();
      return Value(*v);
    }
    case DataType::kString:
      return Value(std::string(text));
    case DataType::kUnspecified:
      break;
  }
  return absl::InvalidArgumentError("column type is unspecified");
}

}  // namespace mlops::ingestion
