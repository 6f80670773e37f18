#pragma once

// The stored form of one PredictionLogBatch: the row of
// `prediction_batches` (migration 0003). The columns are packed into two
// byte strings, `meta` (everything but the features: what GetPerformance
// reads) and `features` (the serialized common.v1.Row of each record), so a
// message of n records is one table row instead of n. Numbers are
// big-endian, as PostgreSQL's int8send / int4send / float8send write them,
// so that SQL (the migration from the one-row-per-prediction table) can
// build the same bytes. Pure functions; no Postgres.
//
// meta, version 1 (n rows):
//   byte 0x01
//   n x int64 timestamp_micros, n x int64 latency_micros,
//   n x float64 score (0 when absent), n x byte has_score (0 / 1),
//   n x int32 length of the request id, n x int32 of the predicted label,
//   n x int32 of the error code,
//   the request ids' bytes, then the predicted labels', then the error codes'.
// features, version 1:
//   byte 0x01, n x int32 length, then the bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/monitoring/prediction_log_batch.h"

namespace mlops::monitoring {

// The per-batch columns of prediction_batches next to the packed ones.
struct PackedPredictionBatch {
  int64_t min_timestamp_micros = 0;
  int64_t max_timestamp_micros = 0;
  std::string meta;
  std::string features;
};

PackedPredictionBatch PackPredictionBatch(const PredictionLogBatch& batch);

// The batch's identity columns, as stored next to the packed ones.
struct PredictionBatchKey {
  std::string model;
  int64_t version = 0;
  std::string endpoint;
  int32_t variant = 0;
};

// Rebuilds `rows` rows from their packed columns. `features` empty: the
// features are not read (each row's features are empty). InvalidArgument
// (Postgres holds something else: a bug or a damaged row) when a blob's
// version, or its size for `rows` rows, is wrong.
absl::StatusOr<PredictionLogBatch> UnpackPredictionBatch(const PredictionBatchKey& key,
                                                         size_t rows, std::string_view meta,
                                                         std::string_view features);

}  // namespace mlops::monitoring
