#pragma once
// Assembles the server interceptor chain shared by GrpcServer and the test
// server: the caller's interceptors in order, then the RPC-metrics interceptor
// last, so that it sees the final status even when an earlier interceptor
// (e.g. auth) changes it. Stateless; thread-safe.

#include <memory>
#include <vector>

#include "common/metrics/rpc_metrics.h"
#include "grpcpp/support/server_interceptor.h"

namespace mlops {

using ServerInterceptorFactory = grpc::experimental::ServerInterceptorFactoryInterface;

// `interceptors` are shared (options structs stay copyable); each is wrapped in
// a forwarding factory. `metrics` may be null (no RPC metrics).
std::vector<std::unique_ptr<ServerInterceptorFactory>> MakeInterceptorChain(
    const std::vector<std::shared_ptr<ServerInterceptorFactory>>& interceptors,
    RpcMetrics* metrics);

}  // namespace mlops
