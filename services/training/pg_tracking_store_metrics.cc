// PgTrackingStore (pg_tracking_store.h): appending metric points. The
// points go in by COPY, built as one buffer of text lines (cheaper for the
// server than INSERT ... unnest of array literals); the latest value, min,
// max and count per key are upserted in the same transaction.
#include <algorithm>
#include <charconv>
#include <map>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/training/pg_tracking_internal.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/run_query.h"

namespace mlops::training {
namespace {

using pg_tracking_internal::AppendQuoted;
using pg_tracking_internal::LockRunShared;

constexpr char kUpsertLatest[] =
    "INSERT INTO run_latest_metric AS l (run_id, key, value, step, timestamp_micros, min_value, "
    "max_value, count) SELECT $1, k, v, s, t, mn, mx, c FROM unnest($2::text[], $3::float8[], "
    "$4::int8[], $5::int8[], $6::float8[], $7::float8[], $8::int8[]) AS u(k, v, s, t, mn, mx, c) "
    "ON CONFLICT (run_id, key) DO UPDATE SET "
    "value = CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= (l.step, "
    "l.timestamp_micros) THEN EXCLUDED.value ELSE l.value END, "
    "step = CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= (l.step, "
    "l.timestamp_micros) THEN EXCLUDED.step ELSE l.step END, "
    "timestamp_micros = GREATEST(CASE WHEN (EXCLUDED.step, EXCLUDED.timestamp_micros) >= "
    "(l.step, l.timestamp_micros) THEN EXCLUDED.timestamp_micros ELSE l.timestamp_micros END, "
    "0), min_value = LEAST(l.min_value, EXCLUDED.min_value), "
    "max_value = GREATEST(l.max_value, EXCLUDED.max_value), count = l.count + EXCLUDED.count";

// Appends s escaped for a COPY text field.
void AppendCopyText(std::string* out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      default: out->push_back(c);
    }
  }
}

template <typename T>
void AppendNumber(std::string* out, T value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, res.ptr);
}

// COPY of whole text lines. pqxx 6.4 exposes raw lines only through the
// deprecated tablewriter. The lines go as one buffer: COPY data is a byte
// stream, so a buffer of many lines (without the last newline, which the
// writer adds) is one call.
void CopyLines(pqxx::transaction_base& tx, const std::string& table, const std::vector<std::string>& columns,
               const std::string& lines) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter writer(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
  writer.write_raw_line(lines);
  writer.complete();
}

}  // namespace

absl::Status PgTrackingStore::AppendMetrics(const std::string& run_id,
                                            const std::vector<MetricPoint>& points) {
  if (points.empty()) return absl::OkStatus();
  // COPY lines for the points, and one summary per key (std::map: keys
  // sorted, so concurrent batches lock run_latest_metric rows in the same
  // order).
  std::string run_field;
  AppendCopyText(&run_field, run_id);
  std::string lines;
  lines.reserve(points.size() * (run_field.size() + 56));
  std::map<std::string_view, MetricSummary> latest;
  for (size_t i = 0; i < points.size(); ++i) {
    const MetricPoint& p = points[i];
    if (i > 0) lines.push_back('\n');
    lines.append(run_field);
    lines.push_back('\t');
    AppendCopyText(&lines, p.key);
    lines.push_back('\t');
    AppendNumber(&lines, p.step);
    lines.push_back('\t');
    AppendNumber(&lines, p.timestamp_micros);
    lines.push_back('\t');
    AppendNumber(&lines, p.value);
    auto [it, inserted] = latest.try_emplace(p.key);
    MetricSummary& m = it->second;
    if (inserted) {
      m = MetricSummary{p.key, p.value, p.step, p.timestamp_micros, p.value, p.value, 0};
    } else if (std::make_pair(p.step, p.timestamp_micros) >=
               std::make_pair(m.step, m.timestamp_micros)) {
      m.value = p.value;
      m.step = p.step;
      m.timestamp_micros = p.timestamp_micros;
    }
    m.min = std::min(m.min, p.value);
    m.max = std::max(m.max, p.value);
    ++m.count;
  }
  std::string lk = "{", lv = "{", ls = "{", lt = "{", lmin = "{", lmax = "{", lc = "{";
  bool first = true;
  for (const auto& [key, m] : latest) {
    const char* sep = first ? "" : ",";
    first = false;
    lk += sep;
    AppendQuoted(&lk, key);
    absl::StrAppend(&lv, sep, DoubleText(m.value));
    absl::StrAppend(&ls, sep, m.step);
    absl::StrAppend(&lt, sep, m.timestamp_micros);
    absl::StrAppend(&lmin, sep, DoubleText(m.min));
    absl::StrAppend(&lmax, sep, DoubleText(m.max));
    absl::StrAppend(&lc, sep, m.count);
  }
  for (std::string* s : {&lk, &lv, &ls, &lt, &lmin, &lmax, &lc}) *s += "}";
  return pool_->WithTransaction({"kInsertMetrics"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    MLOPS_RETURN_IF_ERROR(LockRunShared(tx, run_id, /*need_running=*/true));
    CopyLines(tx, "metric", {"run_id", "key", "step", "timestamp_micros", "value"}, lines);
    tx.exec_params(kUpsertLatest, run_id, lk, lv, ls, lt, lmin, lmax, lc);
    return absl::OkStatus();
  });
}


}  // namespace mlops::training
