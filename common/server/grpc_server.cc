#include "common/server/grpc_server.h"

#include <chrono>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/impl/server_initializer.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace mlops {
namespace {

// Copies the names of the services registered on the server being built
// (gRPC keeps them private; a builder plugin is the public way to read them).
class ServiceListPlugin final : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceListPlugin(std::shared_ptr<std::vector<std::string>> names)
      : names_(std::move(names)) {}
  std::string name() override { return "mlops_service_list"; }
  void InitServer(grpc::ServerInitializer* /*si*/) override {}
  void Finish(grpc::ServerInitializer* si) override { *names_ = *si->GetServiceList(); }
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  std::shared_ptr<std::vector<std::string>> names_;
};

class ServiceListOption final : public grpc::ServerBuilderOption {
 public:
  explicit ServiceListOption(std::shared_ptr<std::vector<std::string>> names)
      : names_(std::move(names)) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->push_back(std::make_unique<ServiceListPlugin>(names_));
  }

 private:
  std::shared_ptr<std::vector<std::string>> names_;
};

int ToMillis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

absl::Status Validate(const GrpcServerOptions& options,
                      const std::vector<grpc::Service*>& services) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("grpc port ", options.port, " out of range [0, 65535]"));
  }
  if (options.max_threads < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("grpc max_threads must be >= 2, got ", options.max_threads));
  }
  if (options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grpc max_message_bytes must be > 0, got ", options.max_message_bytes));
  }
  if (options.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("grpc shutdown_grace must be >= 0");
  }
  if (services.empty()) return absl::InvalidArgumentError("no gRPC service to serve");
  for (const grpc::Service* service : services) {
    if (service == nullptr) return absl::InvalidArgumentError("null gRPC service");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, std::vector<grpc::Service*> services,
    RpcMetrics* metrics) {
  if (absl::Status s = Validate(options, services); !s.ok()) return s;

  // A process-wide switch that takes effect for servers built later.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(options.host, ":", options.port);
  int bound_port = 0;
  builder.AddListeningPort(
      address, options.credentials ? options.credentials : grpc::InsecureServerCredentials(),
      &bound_port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  auto health = std::make_unique<HealthService>();  // not gRPC's: see health_service.h
  builder.RegisterService(health.get());

  grpc::ResourceQuota quota(absl::StrCat("mlops_grpc_", options.service_name));
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  const GrpcKeepaliveOptions& ka = options.keepalive;
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ToMillis(ka.time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ToMillis(ka.timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                             ka.permit_without_calls ? 1 : 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ToMillis(ka.min_ping_interval));
  // Without this, Linux lets a second server bind the same port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);

  builder.experimental().SetInterceptorCreators(
      MakeInterceptorChain(options.interceptors, metrics));
  auto all_names = std::make_shared<std::vector<std::string>>();
  builder.SetOption(std::make_unique<ServiceListOption>(all_names));

  auto queues = std::make_unique<ServerQueues>(builder, services, options.completion_queues,
                                               absl::StrCat(options.service_name, "-cq"),
                                               options.busy_poll);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || bound_port == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("gRPC server cannot listen on ", address, " (port in use?)"));
  }
  // Health, reflection and other grpc.* services are infrastructure.
  std::vector<std::string> names;
  for (const std::string& name : *all_names) {
    if (!absl::StartsWith(name, "grpc.")) names.push_back(name);
  }
  std::unique_ptr<GrpcServer> result(
      new GrpcServer(options, std::move(health), std::move(queues), std::move(server), bound_port,
                     std::move(names)));
  {
    absl::MutexLock lock(&result->mu_);
    result->SetHealthLocked(false);
  }
  result->queues_->Start();
  LogInfo("grpc_server_started",
          {{"address", absl::StrCat(options.host, ":", bound_port)},
           {"services", absl::StrJoin(result->service_names_, ",")},
           {"max_threads", std::to_string(options.max_threads)}});
  return result;
}

GrpcServer::GrpcServer(GrpcServerOptions options, std::unique_ptr<HealthService> health,
                       std::unique_ptr<ServerQueues> queues, std::unique_ptr<grpc::Server> server,
                       int port, std::vector<std::string> service_names)
    : options_(std::move(options)),
      health_(std::move(health)),
      queues_(std::move(queues)),
      server_(std::move(server)),
      port_(port),
      service_names_(std::move(service_names)) {}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::SetHealthLocked(bool serving) {
  serving_ = serving;
  health_->SetServingStatus("", serving);
  for (const std::string& name : service_names_) health_->SetServingStatus(name, serving);
}

void GrpcServer::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (draining_) return;
  if (serving != serving_) {
    LogInfo("health_changed", {{"serving", serving ? "true" : "false"}});
  }
  SetHealthLocked(serving);
}

bool GrpcServer::serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

void GrpcServer::BeginDrain() {
  absl::MutexLock lock(&mu_);
  if (draining_) return;
  draining_ = true;
  SetHealthLocked(false);
  LogInfo("grpc_draining", {{"grace_ms", std::to_string(ToMillis(options_.shutdown_grace))}});
}

void GrpcServer::Shutdown() {
  BeginDrain();
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    first = !shutdown_;
    shutdown_ = true;
  }
  if (first) {
    const auto started = std::chrono::steady_clock::now();
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.shutdown_grace));
    server_->Wait();
    queues_->Stop();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    LogInfo("grpc_server_stopped", {{"drain_ms", std::to_string(took.count())}});
  } else {
    server_->Wait();
  }
}

void GrpcServer::Wait() { server_->Wait(); }

}  // namespace mlops
