// Point-in-time join benchmark (a binary that prints figures; not a test).
//
//   features_pit_benchmark [--case=raw|full|both] [--events=10000000]
//       [--entities=100000] [--rows=1000000] [--chunk_rows=262144]
//       [--threads=2] [--dump_dir=DIR]
//
// raw:  one view, 10 DOUBLE raw features, TTL 1 day; events and input rows
//       spread uniformly over 30 days and over the entities, in random order.
// full: 5 views x 10 features (2 raw + 8 windowed aggregations over 1d, 7d
//       and 30d windows of 4 source columns, one with 2% nulls), each view
//       with its own `events` events.
// Prints table build time and bytes per event, join time, rows/s, the
// status mix, peak RSS (VmHWM) and, for raw, online materialization and
// lookup figures. --dump_dir writes the raw case's data and output as
// little-endian arrays (numpy.fromfile) for a later pandas comparison:
// events_{entity,ts}.i64, events_f<k>.f64, input_{entity,ts}.i64,
// output_f<k>.f64 (NaN where the status is not PRESENT).

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "services/features/event_table.h"
#include "services/features/feature_evaluator.h"
#include "services/features/online_snapshot.h"
#include "services/features/point_in_time_join.h"
#include "services/features/testing/splitmix.h"
#include "services/features/thread_pool.h"

namespace mlops::features {
namespace {

constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 86400 * kSecond;
constexpr int64_t kStart = int64_t{1700000000} * kSecond;  // 2023-11-14
constexpr int64_t kSpan = 30 * kDay;
constexpr int64_t kBatchRows = 65536;

struct Options {
  std::string which = "both";
  int64_t events = 10000000;
  int64_t entities = 100000;
  int64_t rows = 1000000;
  int64_t chunk_rows = 262144;
  int threads = 2;
  std::string dump_dir;
};

using testing::Rng;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU seconds used by the process so far (all threads).
double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Peak resident set size so far, in MB.
double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

// Entity keys are sparse ids, so lookups hash like real keys.
int64_t EntityKeyOf(int64_t i) { return 1000003 * i + 17; }

void WriteArray(const std::string& dir, const std::string& name, const void* data, size_t bytes,
                bool append) {
  if (dir.empty()) return;
  std::ofstream out(dir + "/" + name, append ? std::ios::binary | std::ios::app : std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

struct ViewSpec {
  FeatureViewDefinition def;
  SourceSchema schema;
  double null_fraction_last_column = 0;
};

ViewSpec RawView() {
  ViewSpec v;
  v.def.name = "raw10";
  v.def.entity_column = "entity";
  v.def.event_time_column = "ts";
  v.def.source_dataset = "events";
  v.def.ttl_micros = kDay;
  v.schema.columns = {{"entity", DataType::kInt64, false}, {"ts", DataType::kTimestamp, false}};
  for (int k = 0; k < 10; ++k) {
    const std::string name = "f" + std::to_string(k);
    v.schema.columns.push_back({name, DataType::kDouble, false});
    v.def.features.push_back({name, name, Aggregation::kRaw, 0});
  }
  return v;
}

ViewSpec AggregateView(int index) {
  ViewSpec v;
  v.def.name = "view" + std::to_string(index);
  v.def.entity_column = "entity";
  v.def.event_time_column = "ts";
  v.def.source_dataset = "events" + std::to_string(index);
  v.def.ttl_micros = kDay;
  v.schema.columns = {{"entity", DataType::kInt64, false},
                      {"ts", DataType::kTimestamp, false},
                      {"a", DataType::kDouble, false},
                      {"b", DataType::kDouble, false},
                      {"c", DataType::kDouble, false},
                      {"d", DataType::kDouble, true}};
  v.null_fraction_last_column = 0.02;
  v.def.features = {
      {"a", "a", Aggregation::kRaw, 0},           {"d", "d", Aggregation::kRaw, 0},
      {"a_sum_1d", "a", Aggregation::kSum, kDay}, {"a_mean_7d", "a", Aggregation::kMean, 7 * kDay},
      {"a_count_1d", "a", Aggregation::kCount, kDay}, {"b_max_7d", "b", Aggregation::kMax, 7 * kDay},
      {"b_min_1d", "b", Aggregation::kMin, kDay}, {"c_std_7d", "c", Aggregation::kStddev, 7 * kDay},
      {"c_sum_30d", "c", Aggregation::kSum, 30 * kDay}, {"d_last_1d", "d", Aggregation::kLast, kDay},
  };
  return v;
}

// Wall and CPU seconds of the build's two phases.
struct BuildTimes {
  double append_wall = 0, append_cpu = 0, finish_wall = 0, finish_cpu = 0;
  double Wall() const { return append_wall + finish_wall; }
  double Cpu() const { return append_cpu + finish_cpu; }
};

// Streams `events` random events into a table, batch by batch.
std::shared_ptr<const EventTable> BuildTable(const ViewSpec& spec, const Options& o, uint64_t seed,
                                             ThreadPool* pool, bool dump, BuildTimes* times) {
  auto builder = EventTableBuilder::Create(spec.def, spec.schema, o.events);
  if (!builder.ok()) {
    std::fprintf(stderr, "bad view: %s\n", std::string(builder.status().message()).c_str());
    std::exit(1);
  }
  Rng rng(seed);
  const size_t num_values = spec.schema.columns.size() - 2;
  for (int64_t done = 0; done < o.events; done += kBatchRows) {
    const int64_t n = std::min(kBatchRows, o.events - done);
    ColumnBatch batch;
    batch.num_rows = n;
    batch.columns.emplace_back(DataType::kInt64);
    batch.columns.emplace_back(DataType::kTimestamp);
    for (size_t k = 0; k < num_values; ++k) batch.columns.emplace_back(DataType::kDouble);
    for (int64_t r = 0; r < n; ++r) {
      batch.columns[0].values.ints.push_back(EntityKeyOf(rng.Below(o.entities)));
      batch.columns[1].values.ints.push_back(kStart + rng.Below(kSpan));
      for (size_t k = 0; k < num_values; ++k) {
        batch.columns[2 + k].values.doubles.push_back(rng.Unit() * 200.0 - 100.0);
      }
    }
    if (spec.null_fraction_last_column > 0) {
      ColumnVector& last = batch.columns.back();
      last.nulls.resize(n);
      for (int64_t r = 0; r < n; ++r) last.nulls[r] = rng.Unit() < spec.null_fraction_last_column;
    }
    if (dump) {
      WriteArray(o.dump_dir, "events_entity.i64", batch.columns[0].values.ints.data(), n * 8, done > 0);
      WriteArray(o.dump_dir, "events_ts.i64", batch.columns[1].values.ints.data(), n * 8, done > 0);
      for (size_t k = 0; k < num_values; ++k) {
        WriteArray(o.dump_dir, "events_f" + std::to_string(k) + ".f64",
                   batch.columns[2 + k].values.doubles.data(), n * 8, done > 0);
      }
    }
    const auto start = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds();
    absl::Status s = (*builder)->Append(batch);
    times->append_wall += Seconds(start);
    times->append_cpu += CpuSeconds() - cpu;
    if (!s.ok()) {
      std::fprintf(stderr, "append: %s\n", std::string(s.message()).c_str());
      std::exit(1);
    }
  }
  const auto start = std::chrono::steady_clock::now();
  const double cpu = CpuSeconds();
  auto table = (*builder)->Finish(pool);
  times->finish_wall = Seconds(start);
  times->finish_cpu = CpuSeconds() - cpu;
  return table;
}

void RunCase(const std::string& name, const std::vector<ViewSpec>& specs, const Options& o) {
  ThreadPool pool(o.threads);
  const bool dump = !o.dump_dir.empty() && name == "raw";
  std::printf("== case %s: %zu view(s), %lld events each, %lld entities, %lld input rows, %d threads\n",
              name.c_str(), specs.size(), static_cast<long long>(o.events),
              static_cast<long long>(o.entities), static_cast<long long>(o.rows), o.threads);
  std::vector<JoinViewRequest> views;
  double total_build = 0;
  size_t total_bytes = 0;
  for (size_t v = 0; v < specs.size(); ++v) {
    BuildTimes t;
    auto table = BuildTable(specs[v], o, 1000 + v, &pool, dump, &t);
    total_build += t.Wall();
    total_bytes += table->MemoryBytes();
    std::printf(
        "build %-6s %.2f s (append %.2f s / %.2f s CPU, finish %.2f s / %.2f s CPU), "
        "%.1f bytes/event (%.0f MB), peak RSS %.0f MB\n",
        specs[v].def.name.c_str(), t.Wall(), t.append_wall, t.append_cpu, t.finish_wall,
        t.finish_cpu,
                static_cast<double>(table->MemoryBytes()) / static_cast<double>(table->num_events()),
                table->MemoryBytes() / 1048576.0, PeakRssMb());
    views.push_back(JoinViewRequest{std::move(table), {}});
  }
  std::printf("build total %.2f s, tables %.0f MB\n", total_build, total_bytes / 1048576.0);

  // Input rows: random entities (a few unknown) and times.
  Rng rng(7);
  ColumnVector keys(DataType::kInt64);
  std::vector<int64_t> times;
  keys.values.ints.reserve(o.rows);
  times.reserve(o.rows);
  for (int64_t r = 0; r < o.rows; ++r) {
    keys.values.ints.push_back(EntityKeyOf(rng.Below(o.entities + o.entities / 100)));
    times.push_back(kStart + rng.Below(kSpan + kDay));
  }
  WriteArray(dump ? o.dump_dir : "", "input_entity.i64", keys.values.ints.data(), o.rows * 8, false);
  WriteArray(dump ? o.dump_dir : "", "input_ts.i64", times.data(), o.rows * 8, false);

  auto join = PointInTimeJoin::Create(views, &pool);
  if (!join.ok()) std::exit(1);
  const size_t num_columns = (*join)->columns().size();
  std::vector<std::vector<double>> dumped(dump ? num_columns : 0);
  int64_t statuses[5] = {0, 0, 0, 0, 0};  // by ValueStatus
  uint64_t checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  absl::Status s = (*join)->Run(keys, times, o.chunk_rows, [&](JoinOutputChunk chunk) {
    for (size_t c = 0; c < chunk.features.size(); ++c) {
      const FeatureColumn& col = chunk.features[c];
      for (size_t r = 0; r < col.size(); ++r) {
        ++statuses[static_cast<int>(col.status[r])];
        // A sum of (row, column, status, value) hashes: independent of chunking.
        uint64_t bits = static_cast<uint64_t>(col.values.ints.empty() ? 0 : col.values.ints[r]);
        if (col.type() == DataType::kDouble) std::memcpy(&bits, &col.values.doubles[r], 8);
        Rng mix((static_cast<uint64_t>(chunk.first_row) + r) * 1000003 + c * 131 +
                static_cast<uint64_t>(col.status[r]));
        checksum += mix.Next() ^ bits;
        if (dump) {
          dumped[c].push_back(col.status[r] == ValueStatus::kPresent
                                  ? col.values.doubles[r]
                                  : std::numeric_limits<double>::quiet_NaN());
        }
      }
    }
    return absl::OkStatus();
  });
  const double join_seconds = Seconds(start);
  const double join_cpu = CpuSeconds() - cpu_start;
  if (!s.ok()) std::exit(1);
  std::printf("join %.3f s (%.3f s CPU) for %lld rows x %zu features: %.0f rows/s\n",
              join_seconds, join_cpu, static_cast<long long>(o.rows), num_columns,
              o.rows / join_seconds);
  std::printf("statuses:");
  for (int st = 1; st <= 4; ++st) {
    std::printf(" %s=%.1f%%", std::string(ValueStatusName(static_cast<ValueStatus>(st))).c_str(),
                100.0 * statuses[st] / (static_cast<double>(o.rows) * num_columns));
  }
  std::printf("\nchecksum %016llx\npeak RSS after join %.0f MB\n",
              static_cast<unsigned long long>(checksum), PeakRssMb());
  for (size_t c = 0; c < dumped.size(); ++c) {
    WriteArray(o.dump_dir, "output_f" + std::to_string(c) + ".f64", dumped[c].data(),
               dumped[c].size() * 8, false);
  }

  if (name == "raw") {
    FeatureEvaluator evaluator(views[0].table);
    const auto m_start = std::chrono::steady_clock::now();
    auto snapshot = OnlineSnapshot::Materialize(evaluator, kStart + kSpan, &pool);
    std::printf("online: materialize %zu entities in %.3f s (%.1f MB)\n", snapshot->num_entities(),
                Seconds(m_start), snapshot->MemoryBytes() / 1048576.0);
    const int64_t lookups = 1000000;
    double sum = 0;
    const auto l_start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < lookups; ++i) {
      const int32_t row = snapshot->FindRow(EntityKeyOf(rng.Below(o.entities)));
      if (row < 0) continue;
      for (size_t f = 0; f < 10; ++f) {
        if (snapshot->StatusAt(row, f) == ValueStatus::kPresent) sum += snapshot->DoubleAt(row, f);
      }
    }
    std::printf("online: %.0f ns per entity lookup of 10 features (checksum %.3g)\n",
                1e9 * Seconds(l_start) / lookups, sum);
  }
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string key = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (key == "--case") o.which = value;
    else if (key == "--events") o.events = std::stoll(value);
    else if (key == "--entities") o.entities = std::stoll(value);
    else if (key == "--rows") o.rows = std::stoll(value);
    else if (key == "--chunk_rows") o.chunk_rows = std::stoll(value);
    else if (key == "--threads") o.threads = std::stoi(value);
    else if (key == "--dump_dir") o.dump_dir = value;
    else {
      std::fprintf(stderr, "unknown flag %s (see the comment at the top of %s)\n", arg.c_str(),
                   __FILE__);
      std::exit(2);
    }
  }
  if (o.events <= 0 || o.entities <= 0 || o.rows <= 0 || o.chunk_rows <= 0 || o.threads <= 0 ||
      (o.which != "raw" && o.which != "full" && o.which != "both")) {
    std::fprintf(stderr, "flags out of range\n");
    std::exit(2);
  }
  return o;
}

}  // namespace
}  // namespace mlops::features

int main(int argc, char** argv) {
  using namespace mlops::features;
  const Options o = Parse(argc, argv);
  if (o.which == "raw" || o.which == "both") RunCase("raw", {RawView()}, o);
  if (o.which == "full" || o.which == "both") {
    std::vector<ViewSpec> views;
    for (int v = 0; v < 5; ++v) views.push_back(AggregateView(v));
    RunCase("full", views, o);
  }
  return 0;
}
