#include "services/gateway/bench/bench_servers.h"

#include <stdlib.h>

#include <filesystem>
#include <iterator>
#include <fstream>
#include <system_error>
#include <utility>

#include "services/gateway/bench/echo_servers.h"
#include "services/gateway/bench/floor_server.h"
#include "services/gateway/bench/server_child.h"

namespace mlops::gateway::bench {
namespace {

constexpr const char* kStudyNames[] = {"study: echo, bare gRPC server",
                                       "study: echo, GrpcServer, no metrics",
                                       "study: echo, GrpcServer + metrics"};
constexpr EchoServerKind kStudyKinds[] = {EchoServerKind::kBare, EchoServerKind::kPlatformNoMetrics,
                                          EchoServerKind::kPlatform};
constexpr ServeKind kStudyServeKinds[] = {ServeKind::kEchoBare, ServeKind::kEchoPlatformNoMetrics,
                                          ServeKind::kEchoPlatform};

}  // namespace

// Declaration order = build order (destroyed in reverse).
struct BenchServers::Parts {
  std::string scratch;  // model file, port files and children's logs (separate processes)
  std::unique_ptr<FloorServer> floor;
  std::unique_ptr<GatewayStack> gateway;
  std::vector<std::unique_ptr<EchoServer>> echoes;
  std::vector<std::unique_ptr<ServerChild>> children;
};

BenchServers::BenchServers() : parts_(std::make_unique<Parts>()) {}

BenchServers::~BenchServers() {
  parts_->children.clear();  // kills them
  if (!parts_->scratch.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(parts_->scratch, ignored);
  }
}

absl::StatusOr<std::unique_ptr<BenchServers>> BenchServers::Start(const BenchServersOptions& o) {
  std::unique_ptr<BenchServers> out(new BenchServers());
  Parts& p = *out->parts_;
  const GatewayStackOptions& go = o.gateway;
  if (!o.separate_processes) {
    absl::StatusOr<std::unique_ptr<FloorServer>> floor = FloorServer::Start(go.model_json, go.cols);
    if (!floor.ok()) return floor.status();
    p.floor = std::move(*floor);
    out->floor_port_ = p.floor->port();
    absl::StatusOr<std::unique_ptr<GatewayStack>> gateway = GatewayStack::Start(go);
    if (!gateway.ok()) return gateway.status();
    p.gateway = std::move(*gateway);
    out->gateway_port_ = p.gateway->port();
    for (std::size_t i = 0; o.study && i < std::size(kStudyKinds); ++i) {
      absl::StatusOr<std::unique_ptr<EchoServer>> echo = EchoServer::Start(kStudyKinds[i]);
      if (!echo.ok()) return echo.status();
      out->study_.push_back({kStudyNames[i], (*echo)->port(), {}});
      p.echoes.push_back(std::move(*echo));
    }
    return out;
  }

  char scratch[] = "/tmp/gateway_bench_servers_XXXXXX";
  if (mkdtemp(scratch) == nullptr) {
    return absl::FailedPreconditionError("cannot create a scratch folder under /tmp");
  }
  p.scratch = scratch;
  const std::string model_path = p.scratch + "/model.json";
  {
    std::ofstream model(model_path, std::ios::binary);
    model << go.model_json;
    if (!model) return absl::FailedPreconditionError("cannot write " + model_path);
  }
  std::vector<std::string> args = {"--model", model_path, "--cols", std::to_string(go.cols)};
  if (!go.prediction_log) args.push_back("--no_log");
  if (!go.flat_trees) args.push_back("--xgboost_only");
  if (!go.self_recorded_metrics) args.push_back("--interceptor_metrics");
  if (o.deadlock_detection) args.push_back("--deadlock_detection");
  auto start = [&](ServeKind kind, std::vector<std::string> extra) -> absl::StatusOr<ServerChild*> {
    std::vector<std::string> all = args;
    all.insert(all.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerChild>> child = ServerChild::Start(kind, p.scratch, all);
    if (!child.ok()) return child.status();
    p.children.push_back(std::move(*child));
    return p.children.back().get();
  };
  absl::StatusOr<ServerChild*> features = start(ServeKind::kFeatures, {});
  if (!features.ok()) return features.status();
  absl::StatusOr<ServerChild*> peers = start(ServeKind::kPeers, {});
  if (!peers.ok()) return peers.status();
  absl::StatusOr<ServerChild*> gateway =
      start(ServeKind::kGateway, {"--features_port", std::to_string((*features)->port()),
                                  "--peers_port", std::to_string((*peers)->port())});
  if (!gateway.ok()) return gateway.status();
  out->gateway_port_ = (*gateway)->port();
  out->features_port_ = (*features)->port();
  out->gateway_pids_ = {(*gateway)->pid(), (*features)->pid(), (*peers)->pid()};
  if (o.study) {
    absl::StatusOr<ServerChild*> unary =
        start(ServeKind::kGateway, {"--features_port", std::to_string((*features)->port()),
                                    "--peers_port", std::to_string((*peers)->port()),
                                    "--unary_lookups"});
    if (!unary.ok()) return unary.status();
    out->unary_gateway_port_ = (*unary)->port();
    out->unary_gateway_pids_ = {(*unary)->pid(), (*features)->pid(), (*peers)->pid()};
  }
  if (o.busy_poll_us > 0) {  // a second feature service and gateway that busy-poll
    const std::string us = std::to_string(o.busy_poll_us);
    absl::StatusOr<ServerChild*> busy_features = start(ServeKind::kFeatures, {"--busy_poll_us", us});
    if (!busy_features.ok()) return busy_features.status();
    absl::StatusOr<ServerChild*> busy =
        start(ServeKind::kGateway, {"--features_port", std::to_string((*busy_features)->port()),
                                    "--peers_port", std::to_string((*peers)->port()),
                                    "--busy_poll_us", us});
    if (!busy.ok()) return busy.status();
    out->busy_gateway_port_ = (*busy)->port();
    out->busy_gateway_pids_ = {(*busy)->pid(), (*busy_features)->pid(), (*peers)->pid()};
  }
  absl::StatusOr<ServerChild*> floor = start(ServeKind::kFloor, {});
  if (!floor.ok()) return floor.status();
  out->floor_port_ = (*floor)->port();
  out->floor_pids_ = {(*floor)->pid()};
  for (std::size_t i = 0; o.study && i < std::size(kStudyServeKinds); ++i) {
    absl::StatusOr<ServerChild*> echo = start(kStudyServeKinds[i], {});
    if (!echo.ok()) return echo.status();
    out->study_.push_back({kStudyNames[i], (*echo)->port(), {(*echo)->pid()}});
  }
  return out;
}

}  // namespace mlops::gateway::bench
