#pragma once
// TestEchoService: a synchronous implementation of mlopstest.echo.v1.EchoService
// (common/testing/proto) whose requests say how each RPC ends (code, stream
// length, delay). For tests of interceptors, health, shutdown and auth.
// Stateless apart from a counter of handler calls; thread-safe.

#include <atomic>

#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops {

class TestEchoService final : public ::mlopstest::echo::v1::EchoService::Service {
 public:
  using EchoRequest = ::mlopstest::echo::v1::EchoRequest;
  using EchoResponse = ::mlopstest::echo::v1::EchoResponse;

  grpc::Status Echo(grpc::ServerContext* context, const EchoRequest* request,
                    EchoResponse* response) override;
  grpc::Status ServerStream(grpc::ServerContext* context, const EchoRequest* request,
                            grpc::ServerWriter<EchoResponse>* writer) override;
  grpc::Status ClientStream(grpc::ServerContext* context,
                            grpc::ServerReader<EchoRequest>* reader,
                            EchoResponse* response) override;
  grpc::Status Bidi(grpc::ServerContext* context,
                    grpc::ServerReaderWriter<EchoResponse, EchoRequest>* stream) override;

  // Number of handler invocations so far.
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
};

}  // namespace mlops
