#include "common/server/interceptors.h"

#include <utility>

namespace mlops {
namespace {

// Lets a shared factory sit in gRPC's list of uniquely owned factories.
class SharedInterceptorFactory final : public ServerInterceptorFactory {
 public:
  explicit SharedInterceptorFactory(std::shared_ptr<ServerInterceptorFactory> factory)
      : factory_(std::move(factory)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return factory_->CreateServerInterceptor(info);
  }

 private:
  std::shared_ptr<ServerInterceptorFactory> factory_;
};

}  // namespace

std::vector<std::unique_ptr<ServerInterceptorFactory>> MakeInterceptorChain(
    const std::vector<std::shared_ptr<ServerInterceptorFactory>>& interceptors,
    RpcMetrics* metrics) {
  std::vector<std::unique_ptr<ServerInterceptorFactory>> chain;
  for (const auto& factory : interceptors) {
    if (factory != nullptr) chain.push_back(std::make_unique<SharedInterceptorFactory>(factory));
  }
  if (metrics != nullptr) chain.push_back(metrics->MakeInterceptorFactory());
  return chain;
}

}  // namespace mlops
