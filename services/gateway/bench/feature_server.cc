#include "services/gateway/bench/feature_server.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/authorizer.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/grpc_server.h"
#include "prometheus/registry.h"
#include "services/features/event_table.h"
#include "services/features/feature_evaluator.h"
#include "services/features/features_service.h"
#include "services/features/metrics.h"
#include "services/features/online_server.h"
#include "services/features/online_snapshot.h"
#include "services/features/online_store.h"
#include "services/features/proto_convert.h"
#include "services/features/view_registry.h"

namespace mlops::gateway::bench {
namespace {

namespace f = ::mlops::features;
namespace cv1 = ::mlops::common::v1;

constexpr int64_t kHourMicros = 3600LL * 1000000;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "view"@1: raw features f0..f<cols-1> over the source columns of the same
// names; entity i's one event is at now - (i % 23) hours with f<c> = (i * 7919
// + c * 104729) % 1000 / 1000.
absl::StatusOr<std::shared_ptr<const f::LoadedView>> BuildView(int cols, int64_t entities) {
  f::FeatureViewDefinition d;
  d.name = "view";
  d.version = 1;
  d.entity_column = "customer_id";
  d.event_time_column = "ts";
  d.source_dataset = "bench_events";
  d.ttl_micros = 48 * kHourMicros;
  f::SourceSchema schema;
  schema.columns = {{"customer_id", f::DataType::kInt64, false}, {"ts", f::DataType::kTimestamp, false}};
  f::ColumnBatch batch;
  batch.columns = {f::ColumnVector(f::DataType::kInt64), f::ColumnVector(f::DataType::kTimestamp)};
  const int64_t now = NowMicros();
  for (int64_t i = 0; i < entities; ++i) {
    batch.columns[0].values.ints.push_back(i);
    batch.columns[1].values.ints.push_back(now - (i % 23) * kHourMicros);
  }
  for (int c = 0; c < cols; ++c) {
    const std::string name = absl::StrCat("f", c);
    d.features.push_back({name, name, f::Aggregation::kRaw, 0});
    schema.columns.push_back({name, f::DataType::kDouble, true});
    f::ColumnVector column(f::DataType::kDouble);
    for (int64_t i = 0; i < entities; ++i) {
      column.values.doubles.push_back(static_cast<double>((i * 7919 + c * 104729) % 1000) / 1000.0);
    }
    batch.columns.push_back(std::move(column));
  }
  batch.num_rows = entities;
  absl::StatusOr<std::unique_ptr<f::EventTableBuilder>> builder =
      f::EventTableBuilder::Create(d, schema, entities);
  if (!builder.ok()) return builder.status();
  if (absl::Status s = (*builder)->Append(batch); !s.ok()) return s;
  std::shared_ptr<const f::EventTable> table = (*builder)->Finish();
  auto loaded = std::make_shared<f::LoadedView>();
  loaded->view.definition = d;
  loaded->view.view.mutable_spec()->set_name(d.name);
  loaded->view.view.set_version(d.version);
  loaded->view.view.set_entity_key_type(cv1::DATA_TYPE_INT64);
  f::FeatureEvaluator evaluator(table);
  for (std::size_t k = 0; k < d.features.size(); ++k) {
    cv1::Column* c = loaded->view.view.mutable_feature_schema()->add_columns();
    c->set_name(d.features[k].name);
    c->set_type(f::DataTypeToProto(evaluator.output_type(k)));
  }
  loaded->snapshot = f::OnlineSnapshot::Materialize(evaluator, now);
  loaded->last_event_micros = f::LastEventTimes(*loaded->snapshot, *table);
  loaded->source_version_id = "bench";
  return loaded;
}

}  // namespace

// Declaration order = build order (destroyed in reverse).
struct FeatureServer::Parts {
  prometheus::Registry prom;
  std::unique_ptr<RpcMetrics> rpc_metrics;
  std::unique_ptr<f::FeaturesMetrics> metrics;
  f::ViewRegistry views{nullptr, nullptr, NowMicros};
  f::OnlineViews online;
  std::unique_ptr<f::OnlineServer> online_server;
  Authorizer authorizer = Authorizer::Disabled();
  std::unique_ptr<f::FeatureServiceImpl> service;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<PeerChannel> peer;
};

FeatureServer::FeatureServer() : parts_(std::make_unique<Parts>()) {}

FeatureServer::~FeatureServer() {
  if (parts_->server != nullptr) parts_->server->Shutdown();
}

const PeerChannel* FeatureServer::peer() const { return parts_->peer.get(); }

int FeatureServer::port() const { return parts_->server->port(); }

absl::StatusOr<std::unique_ptr<FeatureServer>> FeatureServer::Start(int cols, int64_t entities,
                                                                   int busy_poll_us) {
  std::unique_ptr<FeatureServer> out(new FeatureServer());
  Parts& p = *out->parts_;
  absl::StatusOr<std::shared_ptr<const f::LoadedView>> view = BuildView(cols, entities);
  if (!view.ok()) return view.status();
  p.online.Put(*std::move(view));
  p.rpc_metrics = std::make_unique<RpcMetrics>(p.prom);
  p.metrics = std::make_unique<f::FeaturesMetrics>(&p.prom);
  p.online_server = std::make_unique<f::OnlineServer>(&p.online, &p.views, p.metrics.get(), 1000);
  f::FeatureServiceDeps deps;
  deps.views = &p.views;
  deps.online = p.online_server.get();
  deps.authorizer = &p.authorizer;
  deps.rpc_metrics = p.rpc_metrics.get();  // as in production (features/main.cc)
  p.service = std::make_unique<f::FeatureServiceImpl>(deps);
  GrpcServerOptions so;
  so.service_name = "features";
  so.host = "127.0.0.1";
  so.shutdown_grace = absl::Seconds(1);
  so.busy_poll = absl::Microseconds(busy_poll_us);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(so, {p.service.get()}, p.rpc_metrics.get());
  if (!server.ok()) return server.status();
  p.server = std::move(*server);
  p.server->SetServing(true);
  PeerChannelOptions po;
  po.address = absl::StrCat("127.0.0.1:", p.server->port());
  absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create("features", po);
  if (!peer.ok()) return peer.status();
  p.peer = std::move(*peer);
  return out;
}

}  // namespace mlops::gateway::bench
