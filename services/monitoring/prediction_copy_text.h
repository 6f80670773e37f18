#pragma once

// The COPY text format (PostgreSQL's default: tab-separated, backslash
// escapes) of the prediction log's request-id rows, built in one
// caller-owned buffer: numbers by std::to_chars, text escaped only where
// needed. Pure functions; no Postgres.

#include <cstdint>
#include <string>
#include <string_view>

#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

// Text with backslash, newline, carriage return and tab escaped.
void AppendCopyText(std::string_view text, std::string* out);
void AppendCopyInt(int64_t v, std::string* out);

// The columns of prediction_requests, in the order the lines below use.
inline constexpr const char* kPredictionRequestCopyColumns[] = {"request_id", "batch_id",
                                                                "row_index", "classified"};

// The partition of prediction_requests that writer `writer` (>= 0) copies
// its rows into (migration 0006): prediction_requests_<index>, the index
// being writer modulo kPredictionLogWriters (stored as the batch's `writer`).
inline int PredictionRequestPartitionIndex(int writer) {
  return (writer % kPredictionLogWriters + kPredictionLogWriters) % kPredictionLogWriters;
}
inline std::string PredictionRequestPartition(int writer) {
  return "prediction_requests_" + std::to_string(PredictionRequestPartitionIndex(writer));
}

// One line per row of `batch`, stored as `batch_id`: request id, batch id,
// row index, whether the row has a predicted label; each ending in '\n'.
void AppendPredictionRequestCopyLines(const PredictionLogBatch& batch, int64_t batch_id,
                                      std::string* out);

}  // namespace mlops::monitoring
