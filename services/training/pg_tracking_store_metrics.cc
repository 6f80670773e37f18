// PgTrackingStore (pg_tracking_store.h): metric points and their history.
//
// A message's points go in as packed blocks (metric_blocks.h), one row of
// metric_block per key, in ONE statement that also upserts the latest value,
// min, max and count per key into run_latest_metric: a message costs a few
// index entries instead of one per point. The packed points travel as one
// binary parameter, so the statement has a fixed shape whatever the number
// of keys.
#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <string_view>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/training/metric_blocks.h"
#include "services/training/pg_tracking_internal.h"
#include "services/training/pg_tracking_store.h"
#include "services/training/run_query.h"

namespace mlops::training {
namespace {

using pg_tracking_internal::AppendQuoted;
using pg_tracking_internal::kRunExists;
using pg_tracking_internal::LockRunShared;
using pg_tracking_internal::RunNotFound;

// $1 run; $2..$8 the blocks (key, bounds, n, byte offset into $9); $9 the
// packed points (binary); $10..$16 one summary per key.
std::string AppendBlocksSql() {
  return absl::StrCat(
      "WITH blocks AS (INSERT INTO metric_block (run_id, key, min_step, min_ts, max_step, "
      "max_ts, n, points) SELECT $1, k, a, b, c, d, n, substring($9::bytea FROM o + 1 FOR n * 24) "
      "FROM unnest($2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int4[], "
      "$8::int4[]) AS u(k, a, b, c, d, n, o) RETURNING 1) "
      "INSERT INTO run_latest_metric AS l (run_id, key, value, step, timestamp_micros, min_value, "
      "max_value, count) SELECT $1, k, v, s, t, mn, mx, c FROM unnest($10::text[], $11::float8[], "
      "$12::int8[], $13::int8[], $14::float8[], $15::float8[], $16::int8[]) AS u(k, v, s, t, mn, "
      "mx, c)",
      pg_tracking_internal::kMergeLatestOnConflict);
}

// Blocks that may hold points after ($3, $4), in the order of their lower
// bounds.
constexpr char kSelectBlockBounds[] =
    "SELECT id, min_step, min_ts, n FROM metric_block WHERE run_id = $1 AND key = $2 "
    "AND (max_step, max_ts) >= ($3, $4) ORDER BY min_step, min_ts, id";
constexpr char kSelectBlockPoints[] =
    "SELECT id, points FROM metric_block WHERE id = ANY($1::int8[])";

// Text arrays of the given columns, for $n::<type>[] parameters.
class ArrayText {
 public:
  void Add(std::string_view element) {
    Sep();
    out_.append(element);
  }
  void AddQuoted(std::string_view element) {
    Sep();
    AppendQuoted(&out_, element);
  }
  std::string Done() { return out_ + "}"; }

 private:
  void Sep() {
    if (out_.size() > 1) out_.push_back(',');
  }
  std::string out_ = "{";
};

struct BlockBound {
  int64_t id = 0;
  int64_t min_step = 0;
  int64_t min_ts = 0;
  int64_t n = 0;
};

}  // namespace

std::map<std::string_view, MetricSummary> pg_tracking_internal::Summaries(
    const std::vector<MetricPoint>& points) {
  std::map<std::string_view, MetricSummary> latest;
  for (const MetricPoint& p : points) {
    auto [it, inserted] = latest.try_emplace(p.key);
    MetricSummary& m = it->second;
    if (inserted) {
      m = MetricSummary{"", p.value, p.step, p.timestamp_micros, p.value, p.value, 0};
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
  return latest;
}

absl::Status PgTrackingStore::AppendMetrics(const std::string& run_id,
                                            const std::vector<MetricPoint>& points) {
  if (points.empty()) return absl::OkStatus();
  std::string packed;
  std::vector<PackedBlock> blocks = PackMetricBlocks(points, &packed);
  ArrayText bk, bmin_step, bmin_ts, bmax_step, bmax_ts, bn, boff;
  for (const PackedBlock& b : blocks) {
    bk.AddQuoted(b.key);
    bmin_step.Add(absl::StrCat(b.min_step));
    bmin_ts.Add(absl::StrCat(b.min_ts));
    bmax_step.Add(absl::StrCat(b.max_step));
    bmax_ts.Add(absl::StrCat(b.max_ts));
    bn.Add(absl::StrCat(b.n));
    boff.Add(absl::StrCat(b.offset));
  }
  ArrayText lk, lv, ls, lt, lmin, lmax, lc;
  for (const auto& [key, m] : pg_tracking_internal::Summaries(points)) {
    lk.AddQuoted(key);
    lv.Add(DoubleText(m.value));
    ls.Add(absl::StrCat(m.step));
    lt.Add(absl::StrCat(m.timestamp_micros));
    lmin.Add(DoubleText(m.min));
    lmax.Add(DoubleText(m.max));
    lc.Add(absl::StrCat(m.count));
  }
  const pqxx::binarystring data(packed.data(), packed.size());
  return pool_->WithTransaction({"kAppendBlocks"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    MLOPS_RETURN_IF_ERROR(LockRunShared(tx, run_id, /*need_running=*/true));
    tx.exec_params(AppendBlocksSql(), run_id, bk.Done(), bmin_step.Done(), bmin_ts.Done(),
                   bmax_step.Done(), bmax_ts.Done(), bn.Done(), boff.Done(), data, lk.Done(),
                   lv.Done(), ls.Done(), lt.Done(), lmin.Done(), lmax.Done(), lc.Done());
    return absl::OkStatus();
  });
}

// Reads blocks in the order of their lower bounds, only as many as the page
// needs: once limit + 1 points after the cursor are in hand, a block whose
// lower bound lies beyond the (limit + 1)-th of them cannot change the page.
absl::StatusOr<HistoryPage> PgTrackingStore::MetricHistory(
    const std::string& run_id, const std::string& key, const std::optional<HistoryCursor>& after,
    int limit) {
  HistoryCursor c = after.value_or(HistoryCursor{-1, -1, -1});
  const HistoryPoint from{c.step, c.timestamp_micros, c.seq, 0};
  const size_t want = static_cast<size_t>(std::max(limit, 0)) + 1;
  return pool_->WithTransaction(
      {"kSelectHistory", PgIsolation::kRepeatableRead, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<HistoryPage> {
        if (tx.exec_params(kRunExists, run_id).empty()) return RunNotFound(run_id);
        std::vector<BlockBound> bounds;
        for (const pqxx::row& row :
             tx.exec_params(kSelectBlockBounds, run_id, key, from.step, from.timestamp_micros)) {
          bounds.push_back({row[0].as<int64_t>(), row[1].as<int64_t>(), row[2].as<int64_t>(),
                            row[3].as<int64_t>()});
        }
        std::vector<HistoryPoint> points;  // after the cursor; at most `want` kept
        size_t next = 0;
        while (next < bounds.size()) {
          std::vector<int64_t> ids;
          if (points.size() >= want) {
            const HistoryPoint& last = points[want - 1];  // sorted below
            for (; next < bounds.size() &&
                   std::tie(bounds[next].min_step, bounds[next].min_ts) <=
                       std::tie(last.step, last.timestamp_micros);
                 ++next) {
              ids.push_back(bounds[next].id);
            }
            if (ids.empty()) break;
          } else {
            for (int64_t have = static_cast<int64_t>(points.size());
                 next < bounds.size() && have < static_cast<int64_t>(want); ++next) {
              ids.push_back(bounds[next].id);
              have += bounds[next].n;
            }
          }
          ArrayText id_array;
          for (int64_t id : ids) id_array.Add(absl::StrCat(id));
          for (const pqxx::row& row : tx.exec_params(kSelectBlockPoints, id_array.Done())) {
            pqxx::binarystring bytes(row[1]);
            if (!UnpackMetricBlock(row[0].as<int64_t>(), std::string_view(bytes.get(), bytes.size()), from,
                                   &points)) {
              return absl::InternalError(absl::StrCat("metric block ", row[0].as<int64_t>(),
                                                      " of run ", run_id, " is malformed"));
            }
          }
          std::sort(points.begin(), points.end(), HistoryLess);
          if (points.size() > want) points.resize(want);
        }
        HistoryPage page;
        const size_t shown = std::min(points.size(), want - 1);
        page.points.reserve(shown);
        for (size_t i = 0; i < shown; ++i) {
          page.points.push_back(
              MetricPoint{key, points[i].value, points[i].step, points[i].timestamp_micros});
        }
        if (points.size() == want && shown > 0) {
          const HistoryPoint& last = points[shown - 1];
          page.next = HistoryCursor{last.step, last.timestamp_micros, last.seq};
        }
        return page;
      });
}

}  // namespace mlops::training
