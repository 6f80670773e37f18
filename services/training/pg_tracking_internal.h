#pragma once
// Internal to pg_tracking_store*.cc: row conversions and checks shared by
// the files of PgTrackingStore. Includes pqxx; include it only there.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "services/training/tracking_store.h"

namespace mlops::training::pg_tracking_internal {

inline constexpr char kRunExists[] = "SELECT 1 FROM run WHERE run_id = $1";
// The tail of an INSERT INTO run_latest_metric AS l: merges a message's
// summary of a key into the stored one (the latest point by (step, time),
// min, max, count).
inline constexpr char kMergeLatestOnConflict[] =
    " ON CONFLICT (run_id, key) DO UPDATE SET "
    "value = CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= (l.step, "
    "l.timestamp_micros) THEN EXCLUDED.value ELSE l.value END, "
    "step = CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= (l.step, "
    "l.timestamp_micros) THEN EXCLUDED.step ELSE l.step END, "
    "timestamp_micros = GREATEST(CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= "
    "(l.step, l.timestamp_micros) THEN EXCLUDED.timestamp_micros ELSE l.timestamp_micros END, "
    "0), min_value = LEAST(l.min_value, EXCLUDED.min_value), "
    "max_value = GREATEST(l.max_value, EXCLUDED.max_value), count = l.count + EXCLUDED.count";
inline constexpr char kSelectArtifactsOf[] =
    "SELECT run_id, path, sha256, size_bytes, content_type, created_at_micros FROM artifact "
    "WHERE run_id = ANY($1::text[]) ORDER BY run_id, path";

ArtifactRef ArtifactFromRow(const pqxx::row& row);
// Appends s as a double-quoted element of a Postgres array literal.
void AppendQuoted(std::string* out, std::string_view s);
absl::Status RunNotFound(const std::string& run_id);
// Locks the run FOR SHARE. NotFound; FailedPrecondition when it has ended
// (or, with need_running, is not RUNNING).
absl::Status LockRunShared(pqxx::transaction_base& tx, const std::string& run_id,
                           bool need_running);

// The latest point, min, max and count of each key of a message, by key (so
// concurrent messages lock run_latest_metric rows in the same order). The
// summaries' `key` is left empty: the map's key is the metric's key, a view
// into `points`.
std::map<std::string_view, MetricSummary> Summaries(const std::vector<MetricPoint>& points);

}  // namespace mlops::training::pg_tracking_internal
