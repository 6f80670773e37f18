#pragma once
// Per-RPC Prometheus metrics shared by every service, recorded by a gRPC server
// interceptor so that handlers contain no metrics code:
//   mlops_grpc_server_started_total{grpc_service,grpc_method}            counter
//   mlops_grpc_server_handled_total{grpc_service,grpc_method,grpc_code}  counter
//   mlops_grpc_server_handling_seconds{grpc_service,grpc_method}         histogram
//   mlops_grpc_server_in_flight_rpcs{grpc_service,grpc_method}           gauge
// grpc_service is the full proto service name ("mlops.registry.v1.RegistryService"),
// grpc_method the bare method name ("GetModel"), grpc_code the canonical code
// name ("OK", "NOT_FOUND", ...). Streaming RPCs are timed from arrival to the
// final status.
// A hot method may record itself instead (RecordedByHandler): with any
// interceptor on a call, gRPC sends each completed batch of it back through
// the completion queue once more (a thread hand-off for callback methods),
// which showed in the gateway's latency at concurrency 1; a call no
// interceptor wants runs without interception at all.

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace mlops {

// Histogram buckets of mlops_grpc_server_handling_seconds: 100 us .. 10 s.
prometheus::Histogram::BucketBoundaries RpcLatencyBuckets();

// "/pkg.Service/Method" -> {"pkg.Service", "Method"}; anything else ->
// {"unknown", "unknown"}.
struct RpcName {
  std::string service;
  std::string method;
};
RpcName SplitFullMethodName(std::string_view full_method);

// The canonical name of a gRPC status code ("OK", "DEADLINE_EXCEEDED", ...).
std::string_view GrpcCodeName(grpc::StatusCode code);

// Owns nothing but pointers into families registered in the Registry given to
// the constructor (which must outlive this object), and a cache of per-method
// metric handles. Thread-safe: the cache is guarded by a mutex that is taken
// once per RPC in shared mode; per-code counters are created lazily without it.
class RpcMetrics {
 public:
  // The handles of one method; stable for the lifetime of RpcMetrics.
  class Method;

  explicit RpcMetrics(prometheus::Registry& registry);
  ~RpcMetrics();
  RpcMetrics(const RpcMetrics&) = delete;
  RpcMetrics& operator=(const RpcMetrics&) = delete;

  // Handles for "/pkg.Service/Method" (created on first use).
  Method* Lookup(std::string_view full_method);
  // Counts a started RPC and raises the in-flight gauge.
  void OnStart(Method* method);
  // Counts the finished RPC with its code, observes its duration, lowers the
  // in-flight gauge. Call exactly once per OnStart.
  void OnFinish(Method* method, grpc::StatusCode code, double seconds);

  // Makes the interceptor skip "/pkg.Service/Method": its handler records
  // the same metrics itself (OnStart when the call arrives, OnFinish with
  // EffectiveCode(...) right before it finishes the call, exactly once).
  // For unary callback methods that always finish their calls. Call before
  // the server takes calls. Returns the method's handles.
  Method* RecordedByHandler(std::string_view full_method);
  static bool IsRecordedByHandler(const Method* method);

  // What the client saw: `code`, except that an OK answer to a call already
  // cancelled counts as DEADLINE_EXCEEDED (its deadline passed) or CANCELLED.
  static grpc::StatusCode EffectiveCode(grpc::ServerContextBase* context, grpc::StatusCode code);

  // An interceptor factory that calls Lookup/OnStart/OnFinish for every RPC
  // of the server it is registered with (sync, callback and streaming RPCs).
  // `this` must outlive the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeInterceptorFactory();

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_;
  prometheus::Family<prometheus::Gauge>& in_flight_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Method>> methods_ ABSL_GUARDED_BY(mu_);
};

class RpcMetrics::Method {
 public:
  static constexpr int kNumCodes = 17;  // OK .. UNAUTHENTICATED

  Method(RpcName name, prometheus::Counter* started, prometheus::Histogram* handling,
         prometheus::Gauge* in_flight)
      : name_(std::move(name)), started_(started), handling_(handling), in_flight_(in_flight) {}

 private:
  friend class RpcMetrics;
  RpcName name_;
  prometheus::Counter* started_;
  prometheus::Histogram* handling_;
  prometheus::Gauge* in_flight_;
  std::array<std::atomic<prometheus::Counter*>, kNumCodes> handled_{};
  std::atomic<bool> recorded_by_handler_{false};  // the interceptor skips it
};

}  // namespace mlops
