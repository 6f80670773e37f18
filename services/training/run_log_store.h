#pragma once
// RunLogStore: the output lines of a run (a command trainer's stdout and
// stderr, the service's own messages about it), appended while the program
// runs and read by WatchRun on any replica. Implementations are
// thread-safe. PgRunLogStore keeps them in the "training" schema
// (run_log_line, migrations/0004_job_leases_and_run_logs.sql); it does not
// own the pool.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/pg_pool.h"

namespace mlops::training {

struct RunLogLine {
  int64_t id = 0;      // set by the store; orders a run's lines
  std::string stream;  // "stdout", "stderr" or "system"
  std::string text;    // without the newline
  int64_t at_micros = 0;
};

class RunLogStore {
 public:
  virtual ~RunLogStore() = default;
  // Appends the lines in order (ids are ignored). NotFound: no such run.
  virtual absl::Status Append(const std::string& run_id, const std::vector<RunLogLine>& lines) = 0;
  // The run's lines with id > after_id, by id, at most `limit`.
  virtual absl::StatusOr<std::vector<RunLogLine>> Read(const std::string& run_id, int64_t after_id,
                                                      int limit) = 0;
};

class PgRunLogStore final : public RunLogStore {
 public:
  explicit PgRunLogStore(PgPool* pool) : pool_(pool) {}
  absl::Status Append(const std::string& run_id, const std::vector<RunLogLine>& lines) override;
  absl::StatusOr<std::vector<RunLogLine>> Read(const std::string& run_id, int64_t after_id,
                                              int limit) override;

 private:
  PgPool* pool_;
};

// The text as valid UTF-8 without NUL bytes (what a Postgres text column
// takes): every other byte becomes '?'. Pure.
std::string SanitizeLogText(const std::string& text);

}  // namespace mlops::training
