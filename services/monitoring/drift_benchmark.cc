// monitoring_drift_benchmark: the drift report over windows holding
// rows x features raw values (default 1M x 100), reference against current
// with a shift in some columns, timed; then the same report from histograms
// only; then, unless --no_python, SciPy's ks_2samp / wasserstein_distance and
// a numpy-histogram PSI in a Python loop over a few of the same columns,
// extrapolated to all columns and compared.
//
// Usage: monitoring_drift_benchmark [--rows N] [--features N] [--threads N]
//                                   [--python_columns N] [--no_python]

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "services/monitoring/feature_drift.h"
#include "services/monitoring/parallel_for.h"
#include "services/monitoring/sorted_sample.h"

namespace mlops::monitoring {
namespace {

struct Args {
  size_t rows = 1000000;
  size_t features = 100;
  int threads = 2;
  size_t python_columns = 10;
  bool python = true;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> long { return i + 1 < argc ? std::atol(argv[++i]) : 0; };
    if (arg == "--rows") a.rows = static_cast<size_t>(next());
    else if (arg == "--features") a.features = static_cast<size_t>(next());
    else if (arg == "--threads") a.threads = static_cast<int>(next());
    else if (arg == "--python_columns") a.python_columns = static_cast<size_t>(next());
    else if (arg == "--no_python") a.python = false;
    else std::fprintf(stderr, "ignoring unknown argument %s\n", arg.c_str());
  }
  return a;
}

// Wall and process CPU time (all threads) since construction.
class Stopwatch {
 public:
  Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(CpuSeconds()) {}
  double Wall() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
  }
  double Cpu() const { return CpuSeconds() - cpu_; }

 private:
  static double CpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  std::chrono::steady_clock::time_point wall_;
  double cpu_;
};

double LoadAverage() {
  double load = -1;
  std::ifstream in("/proc/loadavg");
  in >> load;
  return load;
}

// Column j: normal(mean_j, sd_j); in the current window every 10th column is
// shifted by 0.1 sd and every 25th scaled by 1.05.
std::vector<double> Column(size_t rows, size_t j, bool current) {
  std::mt19937_64 rng(1000003 * j + (current ? 7 : 1));
  double mean = static_cast<double>(j % 7) - 3;
  const double sd = 1 + static_cast<double>(j % 5);
  double scale = 1;
  if (current && j % 10 == 3) mean += 0.1 * sd;
  if (current && j % 25 == 7) scale = 1.05;
  std::normal_distribution<double> dist(mean, sd * scale);
  std::vector<double> v(rows);
  for (double& x : v) x = dist(rng);
  return v;
}

bool WriteColumn(const std::string& path, const std::vector<double>& v) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 8));
  return out.good();
}

constexpr char kPythonBaseline[] = R"PY(
import sys, time
import numpy as np
from scipy import stats
d, k, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cols = [(np.fromfile("%s/ref%d.bin" % (d, j)), np.fromfile("%s/cur%d.bin" % (d, j))) for j in range(k)]
def timed(f):
    w, c = time.perf_counter(), time.process_time()
    for r, cur in cols:
        f(r, cur)
    return time.perf_counter() - w, time.process_time() - c
def psi(r, c):
    edges = np.linspace(r.min(), r.max(), nb + 1)
    rp = np.histogram(r, edges)[0] / len(r)
    cp = np.histogram(c, edges)[0] / len(c)
    rp[rp == 0] = 0.0001
    cp[cp == 0] = 0.0001
    return np.sum((rp - cp) * np.log(rp / cp))
out = timed(stats.ks_2samp) + timed(stats.wasserstein_distance) + timed(psi)
print(" ".join("%.6f" % x for x in out))
)PY";

// Seconds of one Python loop: wall clock and process CPU.
struct PyTime {
  double wall = 0;
  double cpu = 0;
};

// Runs the Python loops over the first `python_columns` column pairs: KS,
// Wasserstein, PSI; false if Python or SciPy is missing.
bool PythonBaseline(const Args& args, PyTime* ks, PyTime* w, PyTime* psi) {
  const std::string dir = "/tmp/mlops_drift_bench_" + std::to_string(getpid());
  if (std::system(("mkdir -p " + dir).c_str()) != 0) return false;
  for (size_t j = 0; j < args.python_columns; ++j) {
    if (!WriteColumn(dir + "/ref" + std::to_string(j) + ".bin", Column(args.rows, j, false)) ||
        !WriteColumn(dir + "/cur" + std::to_string(j) + ".bin", Column(args.rows, j, true))) {
      return false;
    }
  }
  std::ofstream(dir + "/baseline.py") << kPythonBaseline;
  const std::string cmd = "/usr/bin/python3 " + dir + "/baseline.py " + dir + " " +
                          std::to_string(args.python_columns) + " " +
                          std::to_string(stats::kDefaultHistogramBins) + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  bool ok = false;
  if (p != nullptr) {
    ok = std::fscanf(p, "%lf %lf %lf %lf %lf %lf", &ks->wall, &ks->cpu, &w->wall, &w->cpu,
                     &psi->wall, &psi->cpu) == 6;
    ok = pclose(p) == 0 && ok;
  }
  std::system(("rm -rf " + dir).c_str());
  return ok;
}

int Run(const Args& args) {
  std::printf("drift report benchmark: %zu rows x %zu features, reference vs current, %d threads"
              " (load average %.2f at start on %u hardware threads)\n",
              args.rows, args.features, args.threads, LoadAverage(),
              std::thread::hardware_concurrency());
  std::vector<std::vector<double>> ref_raw(args.features);
  std::vector<std::vector<double>> cur_raw(args.features);
  ParallelFor(args.features, args.threads, [&](size_t j) {
    ref_raw[j] = Column(args.rows, j, false);
    cur_raw[j] = Column(args.rows, j, true);
  });

  // Once per reference (SetReference): sort the reference columns.
  Stopwatch ref_watch;
  std::vector<SortedSample> ref = *SortColumns(std::move(ref_raw), args.threads);
  const double ref_seconds = ref_watch.Wall();
  const double ref_cpu = ref_watch.Cpu();

  // The report: sort the window's columns, then every statistic per feature.
  Stopwatch sort_watch;
  std::vector<SortedSample> cur = *SortColumns(std::move(cur_raw), args.threads);
  const double sort_seconds = sort_watch.Wall();
  const double sort_cpu = sort_watch.Cpu();
  std::vector<FeatureDriftInput> inputs(args.features);
  for (size_t j = 0; j < args.features; ++j) {
    inputs[j].name = "f" + std::to_string(j);
    inputs[j].numerical.reference_values = &ref[j];
    inputs[j].numerical.current_values = &cur[j];
  }
  DriftOptions options;
  options.num_threads = args.threads;
  Stopwatch stats_watch;
  const DriftReport report = ComputeDriftReport(inputs, options);
  const double stats_seconds = stats_watch.Wall();
  const double stats_cpu = stats_watch.Cpu();
  const double report_seconds = sort_seconds + stats_seconds;
  const double report_cpu = sort_cpu + stats_cpu;

  int failed = 0;
  int ks_drifted = 0;
  for (const FeatureDriftResult& f : report.features) {
    failed += f.status.ok() ? 0 : 1;
    ks_drifted += f.ks_p_value < 0.05 ? 1 : 0;
  }
  std::printf("  reference preparation (sort %zu columns, once per reference): %.3f s wall, "
              "%.3f s CPU\n",
              args.features, ref_seconds, ref_cpu);
  std::printf("  drift report, exact (raw values): %.3f s wall, %.3f s CPU (%.3f s CPU / %d "
              "threads = %.3f s on idle cores)\n",
              report_seconds, report_cpu, report_cpu, args.threads, report_cpu / args.threads);
  std::printf("    sort current: %.3f s wall, %.3f s CPU; statistics (KS statistic + p-value, "
              "Wasserstein, PSI, JS, chi-square, test choice): %.3f s wall, %.3f s CPU\n",
              sort_seconds, sort_cpu, stats_seconds, stats_cpu);
  std::printf("    drifted features: %lld of %lld by the default test (%s), %d by KS p < 0.05; "
              "dataset drift %s; %d feature errors\n",
              static_cast<long long>(report.dataset.drifted_features),
              static_cast<long long>(report.dataset.total_features),
              std::string(StatTestName(report.features[0].test)).c_str(), ks_drifted,
              report.dataset.drifted ? "yes" : "no", failed);

  // The same report from histograms only (windows beyond the raw cap).
  for (size_t j = 0; j < args.features; ++j) {
    inputs[j].numerical.reference_histogram = {&report.features[j].reference_histogram,
                                               ref[j].min(), ref[j].max()};
    inputs[j].numerical.current_histogram = {&report.features[j].current_histogram, cur[j].min(),
                                             cur[j].max()};
    inputs[j].numerical.reference_stddev = ref[j].stddev();
    inputs[j].numerical.reference_values = nullptr;
    inputs[j].numerical.current_values = nullptr;
  }
  Stopwatch sketch_watch;
  const DriftReport sketch = ComputeDriftReport(inputs, options);
  const double sketch_seconds = sketch_watch.Wall();
  double max_ks_gap = 0;
  for (const FeatureDriftResult& f : sketch.features) {
    max_ks_gap = std::max(max_ks_gap, f.ks_statistic_upper_bound - f.ks_statistic);
  }
  std::printf("  drift report from histograms (%d bins): %.6f s; KS bound width <= %.4f\n",
              stats::kDefaultHistogramBins, sketch_seconds, max_ks_gap);

  if (!args.python || args.python_columns == 0) {
    std::printf("  Python baseline: skipped\n");
    return failed == 0 ? 0 : 1;
  }
  PyTime py_ks;
  PyTime py_w;
  PyTime py_psi;
  if (!PythonBaseline(args, &py_ks, &py_w, &py_psi)) {
    std::printf("  Python baseline: unavailable (needs /usr/bin/python3 with scipy)\n");
    return failed == 0 ? 0 : 1;
  }
  const double f = static_cast<double>(args.features) / args.python_columns;
  std::printf("  Python baseline (one thread) MEASURED on %zu columns, EXTRAPOLATED x%.0f to %zu "
              "columns:\n",
              args.python_columns, f, args.features);
  auto line = [&](const char* what, const PyTime& t) {
    std::printf("    %s: %.1f s wall, %.1f s CPU (measured %.2f s wall, %.2f s CPU)\n", what,
                t.wall * f, t.cpu * f, t.wall, t.cpu);
  };
  line("scipy ks_2samp loop", py_ks);
  line("scipy wasserstein_distance loop", py_w);
  line("numpy histogram PSI loop", py_psi);
  std::printf("    ks_2samp loop vs our whole report: %.0fx by wall time, %.0fx by CPU time\n",
              py_ks.wall * f / report_seconds, py_ks.cpu * f / report_cpu);
  const double py_all_wall = (py_ks.wall + py_w.wall + py_psi.wall) * f;
  const double py_all_cpu = (py_ks.cpu + py_w.cpu + py_psi.cpu) * f;
  std::printf("    ks + wasserstein + psi loops vs our whole report: %.0fx by wall time, %.0fx by "
              "CPU time\n",
              py_all_wall / report_seconds, py_all_cpu / report_cpu);
  std::printf("    (load average now %.2f)\n", LoadAverage());
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mlops::monitoring

int main(int argc, char** argv) {
  return mlops::monitoring::Run(mlops::monitoring::ParseArgs(argc, argv));
}
