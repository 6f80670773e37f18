#pragma once
// LocalPlatform: the real service binaries as child processes on 127.0.0.1,
// wired to each other and to a fresh Postgres database, for integration tests.
// Owns the processes, a temp dir (token file, ports files, logs) and the test
// database; stops everything in its destructor. Not thread-safe: use it from
// the test's main thread (children die with the thread that started them).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/ports_file.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/process.h"

namespace mlops::testing_platform {

struct ServiceBinary {
  std::string name;  // "registry"
  std::string path;  // absolute path of mlops-registry
};

struct RunningService {
  ServiceBinary binary;
  int grpc_port = 0;
  int metrics_port = 0;
  std::unique_ptr<ChildProcess> process;
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port); }
};

class LocalPlatform {
 public:
  // Creates a fresh database through `admin_dsn` and a temp dir with a token
  // file holding an admin token (admin_token()), a viewer token
  // (viewer_token()) and the service token the services use among themselves.
  static absl::StatusOr<std::unique_ptr<LocalPlatform>> Create(const std::string& admin_dsn);
  ~LocalPlatform();

  // Starts every binary with free ports, peers' addresses, the database and
  // the token file, then waits until each one reports SERVING.
  absl::Status Start(const std::vector<ServiceBinary>& binaries,
                     absl::Duration timeout = absl::Seconds(60));

  // SIGTERM to every service; the exit code of each (128+signal if killed).
  std::map<std::string, int> StopAll(absl::Duration grace = absl::Seconds(30));

  RunningService& service(const std::string& name) { return services_.at(name); }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& viewer_token() const { return viewer_token_; }
  const std::string& dir() const { return dir_; }
  const std::string& dsn() const { return db_->dsn(); }
  // The common environment given to every service (addresses, DSN, tokens).
  const std::map<std::string, std::string>& env() const { return env_; }

 private:
  LocalPlatform() = default;
  std::unique_ptr<PgTestDatabase> db_;
  std::string dir_;
  std::string admin_token_;
  std::string viewer_token_;
  std::map<std::string, std::string> env_;
  std::map<std::string, RunningService> services_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close).
absl::StatusOr<int> PickFreePort();

}  // namespace mlops::testing_platform
