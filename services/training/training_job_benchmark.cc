// Figures, not a test: the overhead of the whole job path (JobManager ->
// fetch -> training set -> split -> tracked trial with per-round validation
// metrics -> artifact in Postgres) against calling XGBoost directly
// in-process on the same train rows with the same parameters. Data comes
// from an in-process TrainingDataSource (no gRPC) holding a generated table,
// so the difference is the job machinery. The machine is shared: compare
// the CPU ratio (this process's CPU; Postgres's own CPU is not in it).
//   scripts/with-pg.sh build-.../training_job_benchmark [rows] [features] [trees]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "common/xgboost/xgb_booster.h"
#include "common/xgboost/xgb_matrix.h"
#include "mlops_migrations/training_migrations.h"
#include "omp.h"
#include "services/training/job_manager.h"
#include "services/training/job_profile.h"
#include "services/training/job_spec.h"
#include "services/training/pg_job_store.h"
#include "services/training/pg_tracking_store.h"

namespace mlops::training {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU seconds used by this process so far (the machine is shared: wall time
// alone mixes in other processes' load).
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// rows x features of generated doubles; label = f0 + f1 / 2 > 0.9 (with
// noise). Generated once; Fetch hands out a copy of the table (what a fetch
// from the peers materializes), so generating values is in neither timing.
class GeneratedData final : public TrainingDataSource {
 public:
  GeneratedData(int rows, int features) : features_(features) {
    table_.dataset_version_id = std::string(64, 'e');
    table_.columns.push_back({"label", kTypeBool, 0});
    for (int f = 0; f < features; ++f) table_.columns.push_back({"f" + std::to_string(f), kTypeDouble, 0});
    table_.rows = static_cast<std::size_t>(rows);
    table_.values.reserve(table_.rows * table_.columns.size());
    uint64_t state = 42;
    std::vector<double> row(static_cast<std::size_t>(features));
    for (int r = 0; r < rows; ++r) {
      for (double& v : row) v = static_cast<double>(SplitMix64(&state) % 100000) / 1e5;
      const double noise = static_cast<double>(SplitMix64(&state) % 1000) / 5000.0;
      table_.values.push_back(row[0] + row[1] / 2 + noise > 0.9 ? 1 : 0);
      table_.values.insert(table_.values.end(), row.begin(), row.end());
    }
    table_.is_null.assign(table_.values.size(), false);
  }
  absl::StatusOr<DatasetInfo> DescribeDataset(const std::string&) override {
    DatasetInfo info{"bench", {}};
    for (int f = 0; f < features_; ++f) info.columns.push_back({"f" + std::to_string(f), kTypeDouble, kRoleFeature});
    info.columns.push_back({"label", kTypeBool, 4});
    return info;
  }
  absl::StatusOr<std::string> ResolveVersion(const std::string&, const std::string&) override {
    return std::string(64, 'e');
  }
  absl::StatusOr<FeatureViewInfo> DescribeFeatureView(const std::string&, int64_t) override {
    return absl::NotFoundError("no views");
  }
  // The job asks for the label, then the features in order.
  absl::StatusOr<FetchedTable> Fetch(const FetchRequest& req) override {
    if (req.columns != ColumnNames()) return absl::InvalidArgumentError("unexpected column order");
    return table_;
  }
  std::vector<std::string> ColumnNames() const {
    std::vector<std::string> names;
    for (const ColumnInfo& c : table_.columns) names.push_back(c.name);
    return names;
  }

 private:
  int features_;
  FetchedTable table_;
};

v1::TrainingJobSpec Spec(int trees) {
  v1::TrainingJobSpec spec;
  spec.mutable_data()->set_dataset("bench");
  spec.mutable_data()->set_label_column("label");
  spec.mutable_trainer()->set_kind(v1::TRAINER_KIND_XGBOOST_GBTREE);
  spec.mutable_trainer()->set_objective(v1::OBJECTIVE_BINARY_LOGISTIC);
  (*spec.mutable_hyperparameters())["num_boost_round"] = std::to_string(trees);
  (*spec.mutable_hyperparameters())["max_depth"] = "6";
  (*spec.mutable_hyperparameters())["tree_method"] = "hist";
  spec.set_seed(1);
  return spec;
}

struct Timed {
  double wall = -1;
  double cpu = 0;
};

// XGBoost alone on the job's train rows: same params, no evaluation. Timed
// from the dense train block to the trained booster (wall and this thread's
// CPU).
Timed Direct(GeneratedData& data, const v1::TrainingJobSpec& spec) {
  FetchRequest req;
  req.version_id = std::string(64, 'e');
  req.columns = data.ColumnNames();
  absl::StatusOr<FetchedTable> table = data.Fetch(req);
  std::vector<std::string> features(req.columns.begin() + 1, req.columns.end());
  absl::StatusOr<TrainingSet> set = BuildTrainingSet(*table, "label", features, "", Objective::kBinaryLogistic, 0);
  absl::StatusOr<SplitIndices> split = SplitRows(*set, ToSplitOptions(spec));
  const DenseBlock train = TakeRows(*set, split->train);
  omp_set_num_threads(1);  // as the built-in trainer does: no idle OpenMP workers spinning
  PhaseClock clock;
  absl::StatusOr<xgb::XgbMatrix> m = xgb::XgbMatrix::FromDense(train.values, train.rows, train.cols);
  if (!m.ok() || !m->SetLabels(train.labels).ok()) return {};
  absl::StatusOr<xgb::XgbBooster> b = xgb::XgbBooster::ForTraining(
      {&*m}, {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"tree_method", "hist"},
              {"nthread", "1"}, {"seed", "1"}});
  const int trees = std::stoi(spec.hyperparameters().at("num_boost_round"));
  for (int i = 0; b.ok() && i < trees; ++i) {
    if (!b->TrainOneRound(i, *m).ok()) return {};
  }
  const PhaseTime t = clock.Lap();
  return {t.wall, t.cpu};
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int rows = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int features = argc > 2 ? std::atoi(argv[2]) : 50;
  const int trees = argc > 3 ? std::atoi(argv[3]) : 100;
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin) return std::fprintf(stderr, "set MLOPS_TEST_PG_DSN (scripts/with-pg.sh)\n"), 2;
  auto db = PgTestDatabase::Create(*admin, "training_job_bench");
  if (!db.ok()) return std::fprintf(stderr, "%s\n", db.status().ToString().c_str()), 1;
  PgPoolOptions options;
  options.dsn = (*db)->dsn();
  options.search_path = "training";
  options.statement_timeout = absl::Seconds(120);
  auto pool = PgPool::Create(options);
  if (!pool.ok()) return std::fprintf(stderr, "%s\n", pool.status().ToString().c_str()), 1;
  if (!RunMigrations(**pool, "training", EmbeddedMigrations()).ok()) return 1;
  PgTrackingStore store(pool->get());
  PgJobStore jobs_store(pool->get());
  Tracking tracking(&store);
  GeneratedData data(rows, features);
  const v1::TrainingJobSpec spec = Spec(trees);

  const Timed direct = Direct(data, spec);
  if (direct.wall < 0) return std::fprintf(stderr, "direct XGBoost failed\n"), 1;
  std::printf("direct XGBoost: %d train rows of %d x %d, %d trees: %.2f s wall, %.2f s CPU\n",
              static_cast<int>(rows * 0.8 * 0.9), rows, features, trees, direct.wall, direct.cpu);

  JobManager jobs(JobDeps{&jobs_store, &tracking, &data, nullptr, nullptr}, JobManagerOptions{});
  if (!jobs.Start().ok()) return 1;
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  absl::StatusOr<v1::TrainingJob> job = jobs.Submit(spec, "", "bench", v1::TriggerCause(), "");
  if (!job.ok()) return std::fprintf(stderr, "%s\n", job.status().ToString().c_str()), 1;
  // Woken by the job's own writes (polling would add its reads to the CPU figure).
  uint64_t seen = jobs.change_count();
  while (job.ok() && job->state() < v1::JOB_STATE_SUCCEEDED && Seconds(t0, Clock::now()) < 3600) {
    seen = jobs.WaitForChange(seen, absl::Seconds(5));
    job = jobs.Get(job->id());
  }
  const double whole = Seconds(t0, Clock::now());
  const double job_cpu = CpuSeconds() - cpu0;
  if (!job.ok() || job->state() != v1::JOB_STATE_SUCCEEDED) return std::fprintf(stderr, "job did not succeed\n"), 1;
  const double trial = static_cast<double>(job->trials(0).finished_at_micros() - job->trials(0).started_at_micros()) / 1e6;
  const double before = static_cast<double>(job->trials(0).started_at_micros() - job->started_at_micros()) / 1e6;
  std::printf("job path: %.2f s wall (ratio %.2f to direct's wall), %.2f s CPU of this process "
              "(ratio %.2f to direct's CPU)\n",
              whole, whole / direct.wall, job_cpu, job_cpu / direct.cpu);
  std::printf("job path wall: %.2f s before the trial (fetch, set, split), %.2f s in the trial; "
              "artifact %lld bytes; phases (wall/CPU s) in the training_job_profile log line\n",
              before, trial, static_cast<long long>(job->model_artifact().size_bytes()));
  jobs.Stop();
  return 0;
}

}  // namespace
}  // namespace mlops::training

int main(int argc, char** argv) { return mlops::training::Main(argc, argv); }
