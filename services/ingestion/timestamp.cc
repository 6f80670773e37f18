#include "services/ingestion/timestamp.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace mlops::ingestion {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
constexpr char kFormatHint[] = "expected RFC 3339 like 2024-01-31T12:00:00Z";

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads `width` digits at `pos`; false if any is not a digit.
bool Digits(std::string_view s, size_t pos, size_t width, int* out) {
  if (pos + width > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

absl::Status OutOfRange(const char* field, int value) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", value, " out of range"));
}

}  // namespace

absl::StatusOr<int64_t> ParseRfc3339Micros(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day)) {
    return Bad(kFormatHint);
  }
  if (s.size() >= 11 && s[10] != 'T' && s[10] != 't' && s[10] != ' ') return Bad(kFormatHint);
  if (!Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return Bad(kFormatHint);
  }
  if (year < 1) return OutOfRange("year", year);
  if (month < 1 || month > 12) return OutOfRange("month", month);
  if (day < 1 || day > DaysInMonth(year, month)) return OutOfRange("day", day);
  if (hour > 23) return OutOfRange("hour", hour);
  if (minute > 59) return OutOfRange("minute", minute);
  if (second > 59) return OutOfRange("second", second);
  size_t pos = 19;
  int64_t fraction_micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 9) {
      fraction_micros += (s[pos] - '0') * scale;  // digits past micros: scale 0
      scale /= 10;
      ++pos;
    }
    if (pos == start) return Bad("expected digits after '.'");
    if (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') return Bad("more than 9 fraction digits");
  }
  if (pos >= s.size()) return Bad("missing time zone (Z or +hh:mm)");
  int64_t offset_seconds = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '-' ? -1 : 1;
    int oh, om;
    const size_t colon = s.size() > pos + 3 && s[pos + 3] == ':' ? 1 : 0;
    if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, pos + 3 + colon, 2, &om)) {
      return Bad("invalid time zone offset; expected +hh:mm");
    }
    if (oh > 23 || om > 59) return Bad("time zone offset out of range");
    offset_seconds = sign * (oh * 3600 + om * 60);
    pos += 5 + colon;
  } else {
    return Bad("missing time zone (Z or +hh:mm)");
  }
  if (pos != s.size()) return Bad("unexpected characters after the time zone");
  const int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
                          minute * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + fraction_micros;
}

std::string FormatRfc3339Micros(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  if (fraction < 0) {
    fraction += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / kSecondsPerDay;
  int64_t in_day = seconds % kSecondsPerDay;
  if (in_day < 0) {
    in_day += kSecondsPerDay;
    --days;
  }
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 1 || y > 9999) return absl::StrCat("@", micros);
  char buf[96];
  const int h = static_cast<int>(in_day / 3600);
  const int mi = static_cast<int>(in_day / 60 % 60);
  const int s = static_cast<int>(in_day % 60);
  if (fraction == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", static_cast<int>(y), m, d, h,
                  mi, s);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", static_cast<int>(y), m,
                  d, h, mi, s, static_cast<int>(fraction));
  }
  return buf;
}

}  // namespace mlops::ingestion
