#include "common/metrics/rpc_metrics.h"

#include <chrono>
#include <utility>

#include "absl/strings/string_view.h"
#include "grpcpp/server_context.h"

namespace mlops {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Records one RPC. Created by gRPC when the call arrives, destroyed after it
// completes. Hooks of one RPC do not run concurrently, but the atomic flag keeps
// the "record exactly once" rule obvious.
class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(grpc::experimental::ServerRpcInfo* info, RpcMetrics* metrics,
                        RpcMetrics::Method* method)
      : info_(info), metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {
    metrics_->OnStart(method_);
  }

  // An RPC that ends without the server sending a status (the client went
  // away before the handler finished) is counted as CANCELLED.
  ~RpcMetricsInterceptor() override { Finish(grpc::StatusCode::CANCELLED); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(EffectiveCode(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  grpc::StatusCode EffectiveCode(grpc::StatusCode code) {
    return RpcMetrics::EffectiveCode(info_->server_context(), code);
  }

  void Finish(grpc::StatusCode code) {
    if (finished_.exchange(true)) return;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->OnFinish(method_, code, elapsed.count());
  }

  grpc::experimental::ServerRpcInfo* const info_;  // owns this interceptor
  RpcMetrics* const metrics_;
  RpcMetrics::Method* const method_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<bool> finished_{false};
};

class RpcMetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsInterceptorFactory(RpcMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* name = info->method();
    RpcMetrics::Method* method = metrics_->Lookup(name == nullptr ? "" : name);
    // nullptr: no interceptor for this call (its handler records it).
    if (metrics_->IsRecordedByHandler(method)) return nullptr;
    return new RpcMetricsInterceptor(info, metrics_, method);
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

prometheus::Histogram::BucketBoundaries RpcLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,   10.0};
}

RpcName SplitFullMethodName(std::string_view full_method) {
  // "/pkg.Service/Method": exactly two non-empty parts after the leading '/'.
  if (full_method.size() < 4 || full_method.front() != '/') return {"unknown", "unknown"};
  const std::string_view rest = full_method.substr(1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size() ||
      rest.find('/', slash + 1) != std::string_view::npos) {
    return {"unknown", "unknown"};
  }
  return {std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

RpcMetrics::RpcMetrics(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("mlops_grpc_server_started_total")
                   .Help("RPCs started on the server, by service and method.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("mlops_grpc_server_handled_total")
                   .Help("RPCs completed on the server, by service, method and status code.")
                   .Register(registry)),
      handling_(prometheus::BuildHistogram()
                    .Name("mlops_grpc_server_handling_seconds")
                    .Help("Time from the arrival of an RPC to its final status, in seconds.")
                    .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("mlops_grpc_server_in_flight_rpcs")
                     .Help("RPCs started and not yet completed, by service and method.")
                     .Register(registry)) {}

RpcMetrics::~RpcMetrics() = default;

RpcMetrics::Method* RpcMetrics::Lookup(std::string_view full_method) {
  const absl::string_view key(full_method.data(), full_method.size());
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = methods_.find(key);
    if (it != methods_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Method>& slot = methods_[key];
  if (slot == nullptr) {
    RpcName name = SplitFullMethodName(full_method);
    const prometheus::Labels labels{{"grpc_service", name.service},
                                    {"grpc_method", name.method}};
    slot = std::make_unique<Method>(std::move(name), &started_.Add(labels),
                                    &handling_.Add(labels, RpcLatencyBuckets()),
                                    &in_flight_.Add(labels));
  }
  return slot.get();
}

void RpcMetrics::OnStart(Method* method) {
  method->started_->Increment();
  method->in_flight_->Increment();
}

void RpcMetrics::OnFinish(Method* method, grpc::StatusCode code, double seconds) {
  int index = static_cast<int>(code);
  if (index < 0 || index >= Method::kNumCodes) index = static_cast<int>(grpc::StatusCode::UNKNOWN);
  prometheus::Counter* counter = method->handled_[index].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Family::Add returns the same counter for the same labels, so two threads
    // racing here store the same pointer.
    counter = &handled_.Add({{"grpc_service", method->name_.service},
                             {"grpc_method", method->name_.method},
                             {"grpc_code", std::string(GrpcCodeName(
                                               static_cast<grpc::StatusCode>(index)))}});
    method->handled_[index].store(counter, std::memory_order_release);
  }
  counter->Increment();
  method->handling_->Observe(seconds);
  method->in_flight_->Decrement();
}

RpcMetrics::Method* RpcMetrics::RecordedByHandler(std::string_view full_method) {
  Method* method = Lookup(full_method);
  method->recorded_by_handler_.store(true, std::memory_order_release);
  return method;
}

bool RpcMetrics::IsRecordedByHandler(const Method* method) {
  return method->recorded_by_handler_.load(std::memory_order_acquire);
}

// A handler that ignores cancellation returns OK although the client got
// DEADLINE_EXCEEDED or CANCELLED; count what the client saw. IsCancelled() is
// safe here for the sync and callback APIs, and for completion-queue calls
// that asked AsyncNotifyWhenDone (QueueUnaryCall does).
grpc::StatusCode RpcMetrics::EffectiveCode(grpc::ServerContextBase* context,
                                           grpc::StatusCode code) {
  if (code != grpc::StatusCode::OK) return code;
  if (context == nullptr || !context->IsCancelled()) return code;
  return std::chrono::system_clock::now() >= context->deadline()
             ? grpc::StatusCode::DEADLINE_EXCEEDED
             : grpc::StatusCode::CANCELLED;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::MakeInterceptorFactory() {
  return std::make_unique<RpcMetricsInterceptorFactory>(this);
}

}  // namespace mlops
