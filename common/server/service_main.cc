#include "common/server/service_main.h"

#include <cstdio>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/auth/token_store.h"
#include "common/config/env_flags.h"
#include "common/config/server_flags.h"
#include "common/log/log.h"
#include "common/server/run_service.h"
#include "common/server/service_config.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"

ABSL_FLAG(bool, migrate_only, false,
          "Apply this service's database migrations and exit (for a Kubernetes "
          "pre-install/pre-upgrade hook Job).");

namespace mlops {
namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitBadConfig = 2;

// mlops_db_query_duration_seconds{service,query,code}: one series per named
// query (the SQL constant's name) and outcome; bounded by the code.
std::function<void(const PgCallEvent&)> MakeQueryObserver(prometheus::Registry& registry,
                                                          const std::string& service) {
  auto& family = prometheus::BuildHistogram()
                     .Name("mlops_db_query_duration_seconds")
                     .Help("Duration of database calls by query name, including retries.")
                     .Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return [&family, buckets, service](const PgCallEvent& event) {
    family
        .Add({{"service", service},
              {"query", std::string(event.name)},
              {"code", absl::StatusCodeToString(event.code)}},
             buckets)
        .Observe(absl::ToDoubleSeconds(event.duration));
  };
}

absl::StatusOr<std::unique_ptr<PgPool>> MakePool(const ServerConfig& config,
                                                 prometheus::Registry& registry) {
  PgPoolOptions options;
  options.dsn = config.database_url;
  options.size = config.pg_pool_size;
  options.statement_timeout = config.pg_statement_timeout_ms > 0
                                  ? absl::Milliseconds(config.pg_statement_timeout_ms)
                                  : absl::Hours(24);
  options.search_path = config.service_name;
  options.application_name = "mlops-" + config.service_name;
  options.observer = MakeQueryObserver(registry, config.service_name);
  return PgPool::Create(std::move(options));
}

absl::Status Migrate(PgPool& pool, const std::string& schema,
                     const std::vector<Migration>* migrations) {
  static const std::vector<Migration> kNone;
  auto report = RunMigrations(pool, schema, migrations ? *migrations : kNone);
  if (!report.ok()) return report.status();
  LogInfo("migrated", {{"schema", schema},
                       {"applied", std::to_string(report->applied.size())},
                       {"version", std::to_string(report->latest_version)}});
  return absl::OkStatus();
}

void RunAll(const std::vector<std::function<void()>>& callbacks) {
  for (const auto& callback : callbacks) callback();
}

}  // namespace

int RunServiceMain(int argc, char** argv, const ServiceMainSpec& spec) {
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (all of
  // gRPC's) runs deadlock-cycle detection on each lock; off, the gateway's
  // Predict serves ~15% more requests per core (gateway_benchmark). Tests
  // keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(spec.usage.empty()
                                   ? absl::StrCat("mlops ", spec.defaults.service_name, " service")
                                   : spec.usage);
  ParseFlagsWithEnv(argc, argv);
  absl::StatusOr<ServerConfig> config = ReadServerConfig(spec.defaults);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: bad configuration: %s\n", spec.defaults.service_name.c_str(),
                 std::string(config.status().message()).c_str());
    return kExitBadConfig;
  }
  ApplyLogConfig(*config);
  const std::string& name = config->service_name;
  auto fail = [&](std::string_view step, const absl::Status& status) {
    LogError("start_failed", {{"step", std::string(step)}, {"error", status.ToString()}});
    return kExitStartFailed;
  };

  auto registry = std::make_shared<prometheus::Registry>();
  absl::StatusOr<std::unique_ptr<PgPool>> pool = MakePool(*config, *registry);
  if (!pool.ok()) return fail("database_pool", pool.status());

  if (absl::GetFlag(FLAGS_migrate_only)) {
    const absl::Status migrated = Migrate(**pool, name, spec.migrations);
    if (!migrated.ok()) return fail("migrate", migrated);
    return 0;
  }

  std::unique_ptr<TokenStore> tokens;
  Authorizer authorizer = Authorizer::Disabled();
  if (!config->auth_disabled) {
    auto loaded = TokenStore::Load(config->auth_tokens_file);
    if (!loaded.ok()) return fail("auth_tokens", loaded.status());
    tokens = std::move(*loaded);
    authorizer = Authorizer(tokens.get());
  }
  auto peers = PeerChannels::Create(*config);
  if (!peers.ok()) return fail("peers", peers.status());

  std::vector<std::function<void()>> on_ready;
  std::vector<std::function<void()>> on_drain;
  RpcMetrics rpc_metrics(*registry);  // outlives the server RunService runs
  ServiceContext context{&*config, &authorizer, pool->get(), peers->get(),
                         registry.get(), &on_ready, &on_drain, &rpc_metrics};
  absl::StatusOr<BuiltService> built = spec.build(context);
  if (!built.ok()) return fail("build_service", built.status());

  absl::StatusOr<ServiceRunOptions> run = ServiceRunOptionsFromConfig(*config);
  if (!run.ok()) return fail("server_options", run.status());
  run->registry = registry;
  run->rpc_metrics = &rpc_metrics;
  PgPool* db = pool->get();
  run->readiness.startup = [db, &name, &spec, &on_ready]() -> absl::Status {
    absl::Status migrated = Migrate(*db, name, spec.migrations);
    if (!migrated.ok()) return migrated;
    RunAll(on_ready);
    return absl::OkStatus();
  };
  run->readiness.probe = [db] { return db->Ping(); };
  run->on_drain = [&on_drain] { RunAll(on_drain); };

  std::vector<grpc::Service*> services;
  for (const auto& service : built->services) services.push_back(service.get());
  const absl::Status served = RunService(*run, services);
  if (!served.ok()) return fail("serve", served);
  return 0;
}

}  // namespace mlops
