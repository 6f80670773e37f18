#include "common/testing/echo_service.h"

#include <chrono>
#include <string>
#include <thread>

namespace mlops {
namespace {

using ::mlopstest::echo::v1::EchoRequest;
using ::mlopstest::echo::v1::EchoResponse;

// Sleeps up to `ms`, in short slices, returning early if the RPC is cancelled.
void SleepUnlessCancelled(grpc::ServerContext* context, int ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until && !context->IsCancelled()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The status a request asks for (OK when fail_with_code is 0 or out of range).
grpc::Status RequestedStatus(const EchoRequest& request) {
  const int code = request.fail_with_code();
  if (code <= 0 || code > static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), request.message());
}

}  // namespace

grpc::Status TestEchoService::Echo(grpc::ServerContext* context, const EchoRequest* request,
                                   EchoResponse* response) {
  ++calls_;
  SleepUnlessCancelled(context, request->sleep_ms());
  response->set_message(request->message());
  return RequestedStatus(*request);
}

grpc::Status TestEchoService::ServerStream(grpc::ServerContext* context,
                                           const EchoRequest* request,
                                           grpc::ServerWriter<EchoResponse>* writer) {
  ++calls_;
  SleepUnlessCancelled(context, request->sleep_ms());
  for (int i = 0; i < request->count(); ++i) {
    EchoResponse response;
    response.set_message(request->message());
    response.set_index(i);
    if (!writer->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
  }
  return RequestedStatus(*request);
}

grpc::Status TestEchoService::ClientStream(grpc::ServerContext* context,
                                           grpc::ServerReader<EchoRequest>* reader,
                                           EchoResponse* response) {
  ++calls_;
  EchoRequest request;
  std::string all;
  while (reader->Read(&request)) {
    SleepUnlessCancelled(context, request.sleep_ms());
    grpc::Status status = RequestedStatus(request);
    if (!status.ok()) return status;
    all += request.message();
  }
  response->set_message(all);
  return grpc::Status::OK;
}

grpc::Status TestEchoService::Bidi(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<EchoResponse, EchoRequest>* stream) {
  ++calls_;
  EchoRequest request;
  int index = 0;
  while (stream->Read(&request)) {
    SleepUnlessCancelled(context, request.sleep_ms());
    grpc::Status status = RequestedStatus(request);
    if (!status.ok()) return status;
    EchoResponse response;
    response.set_message(request.message());
    response.set_index(index++);
    if (!stream->Write(response)) return grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
  }
  return grpc::Status::OK;
}

}  // namespace mlops
