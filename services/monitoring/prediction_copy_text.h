#pragma once

// The COPY text format (PostgreSQL's default: tab-separated, \N for NULL,
// backslash escapes) of prediction-log rows, built in one caller-owned
// buffer: numbers by std::to_chars, bytea in hex form, text escaped only
// where needed. Pure functions; no Postgres.

#include <cstdint>
#include <string>
#include <string_view>

#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

// Text with backslash, newline, carriage return and tab escaped.
void AppendCopyText(std::string_view text, std::string* out);
// A bytea value: \\x<lowercase hex> (the backslash escaped for COPY text).
void AppendCopyBytea(std::string_view bytes, std::string* out);
void AppendCopyInt(int64_t v, std::string* out);
// Shortest round-trip form; "NaN", "Infinity", "-Infinity" for the others.
void AppendCopyDouble(double v, std::string* out);

// The columns of prediction_log, in the order the lines below use.
inline constexpr const char* kPredictionLogCopyColumns[] = {
    "model", "version", "endpoint", "variant", "request_id", "timestamp_micros",
    "features", "score", "predicted_label", "latency_micros", "error_code"};

// Rows [begin, end) of `batch`, one line each, every line ending in '\n'.
void AppendPredictionCopyLines(const PredictionLogBatch& batch, size_t begin, size_t end,
                               std::string* out);

}  // namespace mlops::monitoring
