#pragma once

// BenchService: the real MonitoringServiceImpl (Postgres store, prediction-log
// writer, alert loop not started) in process for the benchmarks, on a fresh
// database of the cluster named by MLOPS_TEST_PG_DSN (dropped by the
// destructor), behind an in-process gRPC channel with an admin token. Not a
// test fixture; owns everything it starts. Not thread-safe to construct or
// destroy; stub() is gRPC's (thread-safe).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/auth/authorizer.h"
#include "common/auth/token_store.h"
#include "common/db/pg_pool.h"
#include "common/testing/grpc_test_server.h"
#include "common/testing/pg_test_db.h"
#include "grpcpp/client_context.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/pg_monitoring_store.h"
#include "services/monitoring/prediction_log_writer.h"
#include "services/monitoring/window_store.h"

namespace mlops::monitoring {

class BenchService {
 public:
  // `db_name`: a prefix for the throwaway database. The writer is started.
  static absl::StatusOr<std::unique_ptr<BenchService>> Start(
      const std::string& db_name, MonitoringServiceOptions options,
      PredictionLogWriterOptions writer_options = {});
  ~BenchService();  // stops the alert loop (if started), the writer and the server

  v1::MonitoringService::Stub* stub() { return stub_.get(); }
  MonitoringServiceImpl* service() { return service_.get(); }
  PredictionLogWriter* writer() { return writer_.get(); }
  PgPool* pool() { return pool_.get(); }

  // A client context carrying the admin token.
  static std::unique_ptr<grpc::ClientContext> Context();

 private:
  BenchService() = default;

  std::unique_ptr<PgTestDatabase> db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgMonitoringStore> store_;
  std::unique_ptr<WindowStore> windows_;
  std::unique_ptr<PredictionLogWriter> writer_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Authorizer> authorizer_;
  std::unique_ptr<PredictionCounters> counters_;
  std::unique_ptr<MonitoringServiceImpl> service_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<v1::MonitoringService::Stub> stub_;
};

// Prints a failed call's message; returns s.ok().
bool BenchCheck(const grpc::Status& s, const char* what);

}  // namespace mlops::monitoring
