#include "services/monitoring/bench_service.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "common/auth/token.h"
#include "common/db/migrations.h"
#include "common/status/status_macros.h"
#include "mlops_migrations/monitoring_migrations.h"

namespace mlops::monitoring {
namespace {

constexpr char kToken[] = "bench-token";

class NoCounters : public PredictionCounters {
 public:
  void Accepted(const std::string&, int64_t) override {}
  void Rejected(const std::string&, int64_t) override {}
};

}  // namespace

absl::StatusOr<std::unique_ptr<BenchService>> BenchService::Start(
    const std::string& db_name, MonitoringServiceOptions options,
    PredictionLogWriterOptions writer_options) {
  std::optional<std::string> admin = TestPgDsnFromEnv();
  if (!admin.has_value()) {
    return absl::FailedPreconditionError("MLOPS_TEST_PG_DSN is not set (scripts/pg.sh dsn <dir>)");
  }
  std::unique_ptr<BenchService> b(new BenchService());
  MLOPS_ASSIGN_OR_RETURN(b->db_, PgTestDatabase::Create(*admin, db_name));
  PgPoolOptions o;
  o.dsn = b->db_->dsn();
  o.search_path = "monitoring";
  MLOPS_ASSIGN_OR_RETURN(b->pool_, PgPool::Create(o));
  MLOPS_RETURN_IF_ERROR(RunMigrations(*b->pool_, "monitoring", EmbeddedMigrations()).status());
  b->store_ = std::make_unique<PgMonitoringStore>(b->pool_.get());
  b->windows_ = std::make_unique<WindowStore>();
  b->writer_ = std::make_unique<PredictionLogWriter>(b->store_.get(), writer_options);
  TokenTable table;
  TokenEntry entry;
  entry.principal = {"bench", Role::kAdmin};
  table[HashToken(kToken)] = entry;
  b->tokens_ = std::make_unique<TokenStore>(table);
  b->authorizer_ = std::make_unique<Authorizer>(b->tokens_.get());
  b->counters_ = std::make_unique<NoCounters>();
  b->service_ = std::make_unique<MonitoringServiceImpl>(b->store_.get(), b->windows_.get(),
                                                        b->writer_.get(), b->authorizer_.get(),
                                                        b->counters_.get(), std::move(options));
  MLOPS_ASSIGN_OR_RETURN(b->server_, GrpcTestServer::Start({b->service_.get()}));
  b->stub_ = v1::MonitoringService::NewStub(b->server_->InProcessChannel());
  b->writer_->Start();
  return b;
}

BenchService::~BenchService() {
  if (service_ != nullptr) {
    service_->alert_hub()->Close();
    service_->alerts()->Stop();
  }
  if (writer_ != nullptr) writer_->Stop();
  server_.reset();
}

std::unique_ptr<grpc::ClientContext> BenchService::Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", std::string("Bearer ") + kToken);
  return ctx;
}

bool BenchCheck(const grpc::Status& s, const char* what) {
  if (s.ok()) return true;
  std::fprintf(stderr, "%s: %s\n", what, s.error_message().c_str());
  return false;
}

}  // namespace mlops::monitoring
