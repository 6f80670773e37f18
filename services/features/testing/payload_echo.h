#pragma once
// The online benchmark's baseline: PayloadEcho, a callback-API EchoService
// (the same API kind as GetOnlineFeatures) whose Echo answers with
// `count` bytes of payload built per call, and EchoRequestFor, an echo
// request with the online call's request and response sizes. Stateless;
// thread-safe. For benchmarks only; header-only.

#include <cstdint>
#include <string>

#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops::features::testing {

namespace echo = ::mlopstest::echo::v1;

// The baseline: a callback method answering with `count` bytes of payload
// (built per call, as the online handler builds its response).
class PayloadEcho final : public echo::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const echo::EchoRequest* req,
                                 echo::EchoResponse* resp) override {
    resp->mutable_message()->assign(static_cast<size_t>(req->count()), 'x');
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// An echo request of `request_bytes` serialized bytes asking for a response
// of `response_bytes` serialized bytes (exact except at varint edges).
inline echo::EchoRequest EchoRequestFor(size_t request_bytes, size_t response_bytes) {
  echo::EchoRequest req;
  int32_t payload = static_cast<int32_t>(response_bytes);
  auto size = [](int32_t len) {
    echo::EchoResponse r;
    r.set_message(std::string(static_cast<size_t>(len), 'x'));
    return static_cast<int64_t>(r.ByteSizeLong());
  };
  while (payload > 0 && size(payload) > static_cast<int64_t>(response_bytes)) --payload;
  req.set_count(payload);
  const size_t fixed = req.ByteSizeLong();
  if (request_bytes > fixed + 2) req.set_message(std::string(request_bytes - fixed - 2, 'r'));
  return req;
}

}  // namespace mlops::features::testing
