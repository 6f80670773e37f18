#pragma once
// The pandas baseline of the historical benchmark (not a test): the data as
// little-endian arrays in a temp dir (numpy.fromfile), a Python script that
// runs pandas merge_asof(direction="backward", by=entity, tolerance=ttl) on
// them in its own process (Debian's /usr/bin/python3; the pyenv python3 on
// PATH has no pandas), and its answer. Header-only.
//
// Files in the dir: events_id.i64, events_ts.i64, events_f<k>.f64,
// queries_id.i64, queries_ts.i64; the script writes pandas_f<k>.f64 (one
// value per query row, in input order, NaN where merge_asof found no event).

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace mlops::features::testing {

// Spelled out so the pandas call is visible in the benchmark's source. The
// timed part: both sorts, merge_asof, and restoring input order (the RPC
// answers in input order too). Load time is reported apart.
inline constexpr char kPandasScript[] = R"PY(
import resource, sys, time
import numpy as np
import pandas as pd
d, nf, tol = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
ev = {"id": np.fromfile(d + "/events_id.i64", dtype="<i8"),
      "ts": np.fromfile(d + "/events_ts.i64", dtype="<i8")}
for k in range(nf):
    ev["f%d" % k] = np.fromfile(d + "/events_f%d.f64" % k, dtype="<f8")
events = pd.DataFrame(ev)
del ev
q = pd.DataFrame({"id": np.fromfile(d + "/queries_id.i64", dtype="<i8"),
                  "ts": np.fromfile(d + "/queries_ts.i64", dtype="<i8")})
q["row"] = np.arange(len(q), dtype=np.int64)
load = time.perf_counter() - t0
t1 = time.perf_counter()
c1 = time.process_time()
events = events.sort_values("ts", kind="stable")
q = q.sort_values("ts", kind="stable")
out = pd.merge_asof(q, events, on="ts", by="id", direction="backward", tolerance=tol)
out = out.sort_values("row")
took = time.perf_counter() - t1
cpu = time.process_time() - c1
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
for k in range(nf):
    out["f%d" % k].to_numpy(dtype="<f8").tofile(d + "/pandas_f%d.f64" % k)
print("PANDAS %.6f %.6f %.6f %.1f %s" % (took, cpu, load, peak_mb, pd.__version__))
)PY";

// Appends `n` elements of `data` to dir/name.
template <typename T>
bool AppendArray(const std::string& dir, const std::string& name, const T* data, size_t n) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::app);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * sizeof(T)));
  return out.good();
}

// Reads elements [first, first + n) of dir/name (false when short).
inline bool ReadDoubles(const std::string& dir, const std::string& name, size_t first, size_t n,
                        std::vector<double>* out) {
  std::ifstream in(dir + "/" + name, std::ios::binary);
  out->resize(n);
  in.seekg(static_cast<std::streamoff>(first * sizeof(double)));
  in.read(reinterpret_cast<char*>(out->data()), static_cast<std::streamsize>(n * sizeof(double)));
  return in.gcount() == static_cast<std::streamsize>(n * sizeof(double));
}

// A temp dir removed (with its files) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string pattern = parent + "/features_bench_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    const std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct PandasResult {
  bool ok = false;
  double seconds = 0;       // sorts + merge_asof + back to input order
  double cpu_seconds = 0;   // the same part's process CPU time
  double load_seconds = 0;  // numpy.fromfile + DataFrame construction
  double peak_mb = 0;       // the Python process's ru_maxrss
  std::string version;
};

// Runs the script on the arrays in `dir` (num_features feature files).
inline PandasResult RunPandasMergeAsof(const std::string& dir, int num_features,
                                       int64_t tolerance_micros) {
  PandasResult r;
  {
    std::ofstream script(dir + "/baseline.py");
    script << kPandasScript;
  }
  const std::string cmd = "/usr/bin/python3 " + dir + "/baseline.py " + dir + " " +
                          std::to_string(num_features) + " " + std::to_string(tolerance_micros);
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    char version[64] = {0};
    if (std::sscanf(line, "PANDAS %lf %lf %lf %lf %63s", &r.seconds, &r.cpu_seconds,
                    &r.load_seconds, &r.peak_mb, version) == 5) {
      r.ok = true;
      r.version = version;
    }
  }
  r.ok = pclose(p) == 0 && r.ok;
  return r;
}

}  // namespace mlops::features::testing
