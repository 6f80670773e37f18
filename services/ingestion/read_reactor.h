#pragma once
// ReadReactor: serves one server-streaming call whose messages are made,
// already serialized, by a blocking producer (ReadDatasetVersion: Postgres
// reads and wire encoding). The producer runs on a thread of its own and
// queues messages (at most kMaxQueued, so memory stays bounded); gRPC writes
// them one at a time as raw bytes. The call ends with the producer's status
// once everything queued is written; a cancelled call or a failed write
// makes the producer's `push` return false so it stops early.
// Owns its thread; deletes itself when gRPC is done with the call.
// Thread-safe (the producer thread and gRPC's reactions share a mutex).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_callback.h"
#include "services/ingestion/read_wire.h"

namespace mlops::ingestion {

class ReadReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Queues one message; false when the call is over (stop producing).
  using Push = std::function<bool(WireMessage)>;
  // Runs the producer and maps its status (and a cancelled call) to the
  // call's final status.
  using Producer = std::function<absl::Status(const Push&)>;
  using Finisher = std::function<grpc::Status(const absl::Status&)>;

  static constexpr size_t kMaxQueued = 4;

  // Starts serving: `produce` on its own thread, then `finish` of its status.
  static ReadReactor* Start(Producer produce, Finisher finish);
  // A call that fails before producing anything.
  static ReadReactor* Fail(grpc::Status status);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  ReadReactor() = default;
  void Run(const Producer& produce, const Finisher& finish);
  bool Enqueue(WireMessage message);

  std::mutex mu_;
  std::condition_variable room_;
  std::deque<grpc::ByteBuffer> queue_;  // front is being written while writing_
  bool writing_ = false;                // guarded by mu_
  bool failed_ = false;                 // cancelled or a write failed; guarded by mu_
  bool produced_ = false;               // the producer has ended; guarded by mu_
  grpc::Status status_;                 // set when produced_; guarded by mu_
  std::thread producer_;
};

}  // namespace mlops::ingestion
