#pragma once
// The one logging wrapper: one logfmt line per event on stderr, e.g.
//   ts=2026-11-22T18:00:00.123456Z level=info service=registry event=rpc_failed method=Approve code=PERMISSION_DENIED
// Thread-safe: each line is formatted first and written with one write(2).

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mlops {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using LogField = std::pair<std::string_view, std::string>;
using LogFields = std::initializer_list<LogField>;

// Process-wide settings, set once by main before threads start.
void SetLogServiceName(std::string name);
void SetMinLogLevel(LogLevel level);

// Formats one line (without the trailing newline). Values with spaces, quotes
// or '=' are quoted and escaped; control characters are escaped.
std::string FormatLogLine(LogLevel level, std::string_view event, LogFields fields);

void Log(LogLevel level, std::string_view event, LogFields fields = {});
inline void LogDebug(std::string_view e, LogFields f = {}) { Log(LogLevel::kDebug, e, f); }
inline void LogInfo(std::string_view e, LogFields f = {}) { Log(LogLevel::kInfo, e, f); }
inline void LogWarn(std::string_view e, LogFields f = {}) { Log(LogLevel::kWarn, e, f); }
inline void LogError(std::string_view e, LogFields f = {}) { Log(LogLevel::kError, e, f); }

}  // namespace mlops
