// ingestion_benchmark: end-to-end ingest throughput (not a test).
//
//   MLOPS_TEST_PG_DSN=... ingestion_benchmark [rows=1000000] [runs=1]
//
// The shape: rows x 20 columns (5 int64, 8 double, 4 strings of 10
// characters, 2 bool, 1 timestamp) and 10 expectations (all error-severity
// ones pass). Creates a scratch database and starts the ingestion service on
// 127.0.0.1 (auth disabled). Each run streams the rows through IngestBatch
// into a new dataset, in chunks of 2000 rows (validation, profiling, hashing
// and the COPY commit included), then loads the same rows as CSV with
// `psql \copy` into a plain 20-column table (timestamps as bigint micros),
// and prints both rates and their ratio; with several runs, also the medians.
// The rows and the CSV are generated before the clocks start. Before each
// timed phase the database is settled (VACUUM ANALYZE, CHECKPOINT, untimed):
// otherwise the autovacuum of the 1M rows \copy just wrote, or the
// checkpoint of its WAL, runs during the next phase and is charged to it. When Postgres
// runs on this machine, each side's Postgres CPU (all server processes) is
// printed too: on a loaded machine the ratio follows total CPU.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "grpcpp/grpcpp.h"
#include "mlops_migrations/ingestion_migrations.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/ingestion_service.h"
#include "services/ingestion/metrics.h"
#include "services/ingestion/pg_ingestion_store.h"

namespace {

namespace cv1 = mlops::common::v1;
namespace v1 = mlops::ingestion::v1;

constexpr int kChunkRows = 2000;

cv1::Schema BenchSchema() {
  cv1::Schema s;
  auto add = [&](std::string name, cv1::DataType t, bool nullable = false) {
    auto* c = s.add_columns();
    c->set_name(std::move(name));
    c->set_type(t);
    c->set_nullable(nullable);
  };
  for (int i = 0; i < 5; ++i) add(absl::StrCat("i", i), cv1::DATA_TYPE_INT64);
  for (int i = 0; i < 8; ++i) add(absl::StrCat("d", i), cv1::DATA_TYPE_DOUBLE, true);
  for (int i = 0; i < 4; ++i) add(absl::StrCat("s", i), cv1::DATA_TYPE_STRING);
  for (int i = 0; i < 2; ++i) add(absl::StrCat("b", i), cv1::DATA_TYPE_BOOL);
  add("ts", cv1::DATA_TYPE_TIMESTAMP);
  return s;
}

// Ten expectations over the columns above (two warn-severity ones).
void AddExpectations(google::protobuf::RepeatedPtrField<v1::Expectation>* out) {
  auto add = [&](const std::string& column) {
    v1::Expectation* e = out->Add();
    e->set_column(column);
    return e;
  };
  add("d0")->mutable_not_null();
  auto* between = add("d1")->mutable_between();
  between->mutable_min()->set_double_value(0);
  between->mutable_max()->set_double_value(1e6);
  v1::Expectation* in_set = add("s0");
  in_set->set_severity(v1::SEVERITY_WARN);
  for (int k = 0; k < 5; ++k) {
    in_set->mutable_in_set()->add_values()->set_string_value(absl::StrCat("k_0000000", k));
  }
  add("i0")->mutable_unique();
  add("s1")->mutable_regex()->set_pattern("[a-z]_[0-9]{8}");
  add("")->mutable_row_count()->set_min(1);
  add("d2")->mutable_mean_between()->set_max(1e6);
  add("d3")->mutable_stddev_between()->set_min(0);
  v1::Expectation* mostly = add("d4");
  mostly->set_severity(v1::SEVERITY_WARN);
  mostly->set_mostly(0.9);
  mostly->mutable_not_null();
  auto* ints = add("i1")->mutable_between();
  ints->mutable_min()->set_int64_value(0);
  ints->mutable_max()->set_int64_value(1'000'000'000);
}

void AppendDouble(double d, std::string* csv) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round trip
  csv->append(buf, r.ptr);
}

void FillRow(int64_t i, cv1::Row* r, std::string* csv) {
  r->Clear();
  for (int k = 0; k < 5; ++k) {
    const int64_t v = k == 0 ? i : (i * (k + 7)) % 100'003;
    r->add_values()->set_int64_value(v);
    absl::StrAppend(csv, k == 0 ? "" : ",", v);
  }
  for (int k = 0; k < 8; ++k) {
    const double d = static_cast<double>((i * 31 + k * 7) % 1'000'003) / 7.0;
    r->add_values()->set_double_value(d);
    csv->push_back(',');
    AppendDouble(d, csv);
  }
  for (int k = 0; k < 4; ++k) {
    char s[16];
    std::snprintf(s, sizeof s, "k_%08lld", static_cast<long long>((i * (k + 1)) % 997));
    absl::StrAppend(csv, ",", s);
    r->add_values()->set_string_value(s);
  }
  r->add_values()->set_bool_value(i % 2 == 0);
  r->add_values()->set_bool_value(i % 3 == 0);
  absl::StrAppend(csv, ",", i % 2 == 0 ? "t" : "f", ",", i % 3 == 0 ? "t" : "f");
  const int64_t ts = 1'700'000'000'000'000 + i * 1000;
  r->add_values()->set_timestamp_micros(ts);
  absl::StrAppend(csv, ",", ts, "\n");
}

// User + system CPU seconds of this process (client and server threads).
double ProcessCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid,
// [11] utime, [12] stime, [13] cutime, [14] cstime (clock ticks).
std::vector<long long> ProcStat(long pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  std::vector<long long> out;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return out;
  const char* p = line.c_str() + paren + 2;
  out.push_back(*p);  // the state letter
  for (p += 1; *p != '\0';) {
    char* end = nullptr;
    out.push_back(std::strtoll(p, &end, 10));
    if (end == p) break;
    p = end;
  }
  return out;
}

// CPU seconds used by the Postgres server whose postmaster is `postmaster`:
// its own, its exited children's, and its live children's.
double PostgresCpuSeconds(long postmaster) {
  long long ticks = 0;
  std::vector<long long> own = ProcStat(postmaster);
  if (own.size() > 14) ticks += own[11] + own[12] + own[13] + own[14];
  if (DIR* proc = opendir("/proc")) {
    while (dirent* e = readdir(proc)) {
      const long pid = std::atol(e->d_name);
      if (pid <= 0) continue;
      std::vector<long long> st = ProcStat(pid);
      if (st.size() > 12 && st[1] == postmaster) ticks += st[11] + st[12];
    }
    closedir(proc);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The local postmaster's pid (the parent of a backend), or 0 when Postgres
// is not on this machine.
long LocalPostmaster(mlops::PgPool& pool) {
  absl::StatusOr<long> backend =
      pool.WithTransaction({"kBackendPid"}, [](pqxx::transaction_base& tx) {
        return tx.exec1("SELECT pg_backend_pid()")[0].as<long>();
      });
  if (!backend.ok()) return 0;
  std::vector<long long> st = ProcStat(*backend);
  return st.size() > 1 ? static_cast<long>(st[1]) : 0;
}

// User + system CPU seconds of this process's waited-for children (psql).
double ChildrenCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::max<int64_t>(1, std::atoll(argv[1])) : 1'000'000;
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  std::optional<std::string> admin = mlops::TestPgDsnFromEnv();
  if (!admin) {
    std::fprintf(stderr, "set MLOPS_TEST_PG_DSN\n");
    return 2;
  }
  auto db = mlops::PgTestDatabase::Create(*admin, "ingestion_bench");
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().ToString().c_str());
    return 1;
  }
  mlops::PgPoolOptions opts;
  opts.dsn = (*db)->dsn();
  opts.search_path = "ingestion";
  auto pool = mlops::PgPool::Create(opts);
  if (!pool.ok()) return 1;
  auto migrated = mlops::RunMigrations(**pool, "ingestion", mlops::ingestion::EmbeddedMigrations());
  if (!migrated.ok()) {
    std::fprintf(stderr, "%s\n", migrated.status().ToString().c_str());
    return 1;
  }
  const long postmaster = LocalPostmaster(**pool);
  mlops::ingestion::PgIngestionStore store(pool->get());
  mlops::ingestion::IngestionMetrics metrics(nullptr);
  mlops::ingestion::Ingestion ingestion(&store, &metrics);
  mlops::Authorizer auth = mlops::Authorizer::Disabled();
  mlops::ingestion::IngestionServiceImpl service(&ingestion, &auth);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::IngestionService::NewStub(channel);

  // Build the CSV and the chunks up front so that generation is not timed.
  std::string csv;
  std::vector<v1::IngestBatchRequest> chunks;
  cv1::Row row;
  for (int64_t i = 0; i < rows; i += kChunkRows) {
    v1::IngestBatchRequest msg;
    for (int64_t j = i; j < rows && j < i + kChunkRows; ++j) {
      FillRow(j, &row, &csv);
      *msg.mutable_chunk()->add_rows() = row;
    }
    chunks.push_back(std::move(msg));
  }
  const std::string path = absl::StrCat("/tmp/ingestion_bench_", getpid(), ".csv");
  std::ofstream(path) << csv;
  const std::string psql = absl::StrCat("psql -q \"", (*db)->dsn(), "\" -v ON_ERROR_STOP=1");
  auto settle = [&] {
    return std::system(absl::StrCat(psql, " -c 'VACUUM ANALYZE' -c 'CHECKPOINT'").c_str()) == 0;
  };
  std::printf("rows=%lld columns=20 expectations=10 chunk_rows=%d runs=%d\n",
              static_cast<long long>(rows), kChunkRows, runs);

  std::vector<double> ingest_rates, copy_rates, ratios;
  for (int run = 0; run < runs; ++run) {
    const std::string name = absl::StrCat("bench_", run);
    {
      grpc::ClientContext ctx;
      v1::CreateDatasetRequest req;
      req.set_name(name);
      *req.mutable_schema() = BenchSchema();
      AddExpectations(req.mutable_expectations());
      v1::Dataset d;
      grpc::Status s = stub->CreateDataset(&ctx, req, &d);
      if (!s.ok()) {
        std::fprintf(stderr, "CreateDataset: %s\n", s.error_message().c_str());
        return 1;
      }
    }
    if (!settle()) return 1;
    double pg_cpu = postmaster != 0 ? PostgresCpuSeconds(postmaster) : 0;
    auto start = std::chrono::steady_clock::now();
    const double cpu_start = ProcessCpuSeconds();
    grpc::ClientContext ctx;
    v1::IngestBatchResponse resp;
    auto writer = stub->IngestBatch(&ctx, &resp);
    v1::IngestBatchRequest header;
    header.mutable_header()->set_dataset(name);
    writer->Write(header);
    for (const auto& c : chunks) writer->Write(c);
    v1::IngestBatchRequest end;
    end.mutable_end()->set_row_count(rows);
    writer->Write(end);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    const double grpc_s = Seconds(start);
    const double grpc_cpu = ProcessCpuSeconds() - cpu_start;
    const double grpc_pg_cpu = postmaster != 0 ? PostgresCpuSeconds(postmaster) - pg_cpu : 0;
    if (!s.ok() || resp.outcome() != v1::INGEST_OUTCOME_COMMITTED) {
      std::fprintf(stderr, "IngestBatch: %s %s\n", s.error_message().c_str(),
                   resp.report().ShortDebugString().substr(0, 2000).c_str());
      return 1;
    }
    const std::string table = absl::StrCat(
        "CREATE TABLE public.", name,
        " (i0 bigint, i1 bigint, i2 bigint, i3 bigint, i4 bigint, d0 float8, d1 float8, "
        "d2 float8, d3 float8, d4 float8, d5 float8, d6 float8, d7 float8, s0 text, s1 text, "
        "s2 text, s3 text, b0 bool, b1 bool, ts bigint)");
    if (std::system(absl::StrCat(psql, " -c \"", table, "\"").c_str()) != 0) return 1;
    if (!settle()) return 1;
    pg_cpu = postmaster != 0 ? PostgresCpuSeconds(postmaster) : 0;
    const double psql_cpu = ChildrenCpuSeconds();
    start = std::chrono::steady_clock::now();
    const int rc = std::system(
        absl::StrCat(psql, " -c \"\\copy public.", name, " FROM '", path, "' CSV\"").c_str());
    const double copy_s = Seconds(start);
    // psql's backend may still be exiting: its CPU counts once the postmaster
    // has reaped it.
    if (postmaster != 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double copy_pg_cpu = postmaster != 0 ? PostgresCpuSeconds(postmaster) - pg_cpu : 0;
    const double copy_psql_cpu = ChildrenCpuSeconds() - psql_cpu;
    if (rc != 0) return 1;
    const double ingest_rate = static_cast<double>(rows) / grpc_s;
    const double copy_rate = static_cast<double>(rows) / copy_s;
    ingest_rates.push_back(ingest_rate);
    copy_rates.push_back(copy_rate);
    ratios.push_back(ingest_rate / copy_rate);
    std::printf(
        "run %d: IngestBatch over gRPC (loopback): %.2f s, %.0f rows/s (version %.12s; "
        "client + service CPU %.2f s, Postgres not included)\n",
        run + 1, grpc_s, ingest_rate, resp.version().id().c_str(), grpc_cpu);
    std::printf("run %d: psql \\copy CSV:                   %.2f s, %.0f rows/s (psql CPU %.2f s)\n",
                run + 1, copy_s, copy_rate, copy_psql_cpu);
    if (postmaster != 0) {
      std::printf("run %d: Postgres server CPU: IngestBatch %.2f s, \\copy %.2f s; all CPU: "
                  "IngestBatch %.2f s, \\copy %.2f s\n",
                  run + 1, grpc_pg_cpu, copy_pg_cpu, grpc_cpu + grpc_pg_cpu,
                  copy_psql_cpu + copy_pg_cpu);
    }
    std::printf("run %d: ratio IngestBatch/\\copy rows/s: %.2f (goal >= 0.70)\n", run + 1,
                ingest_rate / copy_rate);
    std::fflush(stdout);
  }
  std::remove(path.c_str());
  if (runs > 1) {
    std::printf("median of %d runs: IngestBatch %.0f rows/s, \\copy %.0f rows/s, ratio %.2f\n",
                runs, Median(ingest_rates), Median(copy_rates), Median(ratios));
  }
  server->Shutdown();
  return 0;
}
