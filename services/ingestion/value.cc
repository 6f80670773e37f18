#include "services/ingestion/value.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/ingestion/timestamp.h"

namespace mlops::ingestion {

Column MakeColumn(std::string name, DataType type, bool nullable, ColumnRole role) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  c.role = role;
  return c;
}

int Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string_view ColumnRoleName(ColumnRole role) {
  switch (role) {
    case ColumnRole::kEntityKey: return "entity_key";
    case ColumnRole::kEventTimestamp: return "event_timestamp";
    case ColumnRole::kFeature: return "feature";
    case ColumnRole::kLabel: return "label";
    case ColumnRole::kMetadata: return "metadata";
    case ColumnRole::kUnspecified: break;
  }
  return "unspecified";
}

namespace {

std::string DoubleToString(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, d);  // shortest round trip
  return std::string(buf, result.ptr);
}

struct Printer {
  size_t max_string_bytes;
  std::string operator()(std::monostate) const { return "NULL"; }
  std::string operator()(int64_t v) const { return absl::StrCat(v); }
  std::string operator()(double v) const { return DoubleToString(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(Timestamp t) const { return FormatRfc3339Micros(t.micros); }
  std::string operator()(const std::string& s) const {
    const bool cut = s.size() > max_string_bytes;
    const absl::string_view shown(s.data(), cut ? max_string_bytes : s.size());
    return absl::StrCat("\"", absl::CHexEscape(shown), cut ? "...\"" : "\"");
  }
};

}  // namespace

std::string ValueToString(const Value& v, size_t max_string_bytes) {
  return std::visit(Printer{max_string_bytes}, v);
}

}  // namespace mlops::ingestion
