// Prints the single-core CPU cost of the ingestion domain on the issue's
// benchmark shape: 1M rows x 20 columns (5 int64, 8 double, 4 string of ~10
// characters, 2 bool, 1 timestamp) with 10 expectations. Not a test; the
// end-to-end gRPC + COPY benchmark builds on these figures.
//
// Usage: ingestion_domain_benchmark [rows] (default 1000000)

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/stats/column_profile.h"
#include "services/ingestion/batch_validator.h"
#include "services/ingestion/csv.h"
#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {
namespace {

double CpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

Schema BenchSchema() {
  Schema s;
  for (int i = 0; i < 5; ++i) s.columns.push_back(MakeColumn("i" + std::to_string(i), DataType::kInt64));
  for (int i = 0; i < 8; ++i) s.columns.push_back(MakeColumn("d" + std::to_string(i), DataType::kDouble, true));
  for (int i = 0; i < 4; ++i) s.columns.push_back(MakeColumn("s" + std::to_string(i), DataType::kString));
  for (int i = 0; i < 2; ++i) s.columns.push_back(MakeColumn("b" + std::to_string(i), DataType::kBool));
  s.columns.push_back(MakeColumn("ts", DataType::kTimestamp));
  return s;
}

ExpectationSuite BenchSuite() {
  ExpectationSuite suite;
  suite.expectations = {
      {NotNull{}, "d0"},
      {Between{0.0, 1e6}, "d1"},
      {InSet{{std::string("category_0"), std::string("category_1")}}, "s0", Severity::kWarn},
      {Unique{}, "i0"},
      {MatchesRegex{"^[a-z]+_[0-9]$"}, "s1"},
      {RowCountBetween{1, std::nullopt}, ""},
      {MeanBetween{0.0, 1e6}, "d2"},
      {StddevBetween{0.0, 1e6}, "d3"},
      {NotNull{}, "d4", Severity::kWarn, 0.9},
      {Between{0.0, 1e9}, "i1"}};
  return suite;
}

std::vector<std::vector<Row>> MakeChunks(int64_t rows, int64_t chunk) {
  std::mt19937_64 rng(1);
  std::vector<std::vector<Row>> chunks;
  for (int64_t start = 0; start < rows; start += chunk) {
    std::vector<Row> part;
    for (int64_t id = start; id < std::min(rows, start + chunk); ++id) {
      Row row;
      row.push_back(id);
      for (int i = 1; i < 5; ++i) row.push_back(static_cast<int64_t>(rng() % 100000));
      for (int i = 0; i < 8; ++i) row.push_back(static_cast<double>(rng() % 1000000) / 7.0);
      for (int i = 0; i < 4; ++i) row.push_back("category_" + std::to_string(rng() % 10));
      for (int i = 0; i < 2; ++i) row.push_back(static_cast<bool>(rng() & 1));
      row.push_back(Timestamp{1700000000000000 + id});
      part.push_back(std::move(row));
    }
    chunks.push_back(std::move(part));
  }
  return chunks;
}

std::string ToCsv(const Schema& schema, const std::vector<std::vector<Row>>& chunks) {
  std::string csv;
  for (size_t i = 0; i < schema.columns.size(); ++i) csv += (i ? "," : "") + schema.columns[i].name;
  csv += '\n';
  for (const auto& chunk : chunks) {
    for (const Row& row : chunk) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) csv += ',';
        std::string v = ValueToString(row[i]);
        if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
        csv += v;
      }
      csv += '\n';
    }
  }
  return csv;
}

// CPU seconds of profiling alone (common/stats ColumnProfileBuilder, the
// share of validate + profile that is sketches), split by column type.
struct ProfileCost {
  double seconds[6] = {0, 0, 0, 0, 0, 0};  // indexed by Value's alternative
};

ProfileCost TimeProfiling(const Schema& schema, const std::vector<std::vector<Row>>& chunks) {
  ProfileCost cost;
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    absl::StatusOr<stats::ColumnProfileBuilder> b =
        stats::ColumnProfileBuilder::Create(schema.columns[c].name, schema.columns[c].type);
    if (!b.ok()) continue;
    const double t = CpuSeconds();
    for (const auto& chunk : chunks) {
      for (const Row& row : chunk) {
        const Value& v = row[c];
        if (const int64_t* i = std::get_if<int64_t>(&v)) b->AddInt64(*i);
        else if (const double* d = std::get_if<double>(&v)) b->AddDouble(*d);
        else if (const std::string* str = std::get_if<std::string>(&v)) b->AddString(*str);
        else if (const bool* x = std::get_if<bool>(&v)) b->AddBool(*x);
        else if (const Timestamp* ts = std::get_if<Timestamp>(&v)) b->AddTimestamp(ts->micros);
        else b->AddNull();
      }
    }
    const stats::ColumnProfile p = b->Finish();
    const size_t type = chunks.empty() || chunks[0].empty() ? 0 : chunks[0][0][c].index();
    cost.seconds[type] += CpuSeconds() - t;
  }
  return cost;
}

int Run(int64_t rows) {
  const Schema schema = BenchSchema();
  const std::vector<std::vector<Row>> chunks = MakeChunks(rows, 1000);

  double t = CpuSeconds();
  absl::StatusOr<std::unique_ptr<BatchValidator>> v = BatchValidator::Create(schema, BenchSuite());
  if (!v.ok()) return std::fprintf(stderr, "%s\n", v.status().ToString().c_str()), 1;
  for (const auto& chunk : chunks) {
    if (absl::Status s = (*v)->AddChunk(chunk); !s.ok()) {
      return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
    }
  }
  absl::StatusOr<ValidationReport> report = (*v)->Finish();
  const double validate = CpuSeconds() - t;

  t = CpuSeconds();
  absl::StatusOr<VersionHasher> hasher = VersionHasher::Create("bench", "", IngestMode::kAppend, schema);
  if (!hasher.ok()) return 1;
  for (const auto& chunk : chunks) hasher->AddRows(chunk);
  if (!hasher->Finish().ok()) return 1;
  const double hash = CpuSeconds() - t;

  const ProfileCost profile = TimeProfiling(schema, chunks);

  const std::string csv = ToCsv(schema, chunks);
  t = CpuSeconds();
  CsvReader reader(schema);
  std::vector<Row> parsed;
  int64_t parsed_rows = 0;
  for (size_t pos = 0; pos < csv.size(); pos += 1 << 16) {
    if (!reader.Feed(std::string_view(csv).substr(pos, 1 << 16), &parsed).ok()) return 1;
    parsed_rows += static_cast<int64_t>(parsed.size());
    parsed.clear();
  }
  if (!reader.Finish(&parsed).ok()) return 1;
  parsed_rows += static_cast<int64_t>(parsed.size());
  const double csv_seconds = CpuSeconds() - t;

  const double n = static_cast<double>(rows);
  std::printf("rows: %lld x %zu columns, %zu expectations (report success: %d)\n",
              static_cast<long long>(rows), schema.columns.size(), BenchSuite().expectations.size(),
              report.ok() && report->success);
  std::printf("validate + profile: %.2f s CPU, %.0f rows/s\n", validate, n / validate);
  std::printf("version hash:       %.2f s CPU, %.0f rows/s\n", hash, n / hash);
  const double* ps = profile.seconds;
  std::printf("profile only:       %.2f s CPU (int64 %.2f, double %.2f, string %.2f, bool %.2f, "
              "timestamp %.2f)\n",
              ps[1] + ps[2] + ps[3] + ps[4] + ps[5], ps[1], ps[2], ps[3], ps[4], ps[5]);
  std::printf("CSV parse:          %.2f s CPU, %.0f rows/s, %.0f MB/s (%lld rows)\n", csv_seconds,
              static_cast<double>(parsed_rows) / csv_seconds, static_cast<double>(csv.size()) / 1e6 / csv_seconds,
              static_cast<long long>(parsed_rows));
  return 0;
}

}  // namespace
}  // namespace mlops::ingestion

int main(int argc, char** argv) {
  const long long rows = argc > 1 ? std::atoll(argv[1]) : 1000000;
  return mlops::ingestion::Run(rows > 0 ? rows : 1000000);
}
