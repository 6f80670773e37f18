#pragma once
// OnlineStream: the server side of one StreamOnlineFeatures stream, a raw
// (ByteBuffer) bidi reactor. Each OnlineFeaturesLookup read is answered by
// `answer` on the reading thread, or, when `answer` defers it (the lookup
// needs the view registry), on OnlineSlowPath's thread; the next read starts
// at once, so lookups pipeline and may be answered out of order. Results are
// written one at a time in the order they are ready. The stream finishes
// (OK) once the caller has ended its writes and every lookup read has been
// answered, or when the connection fails. Deletes itself when gRPC is done
// with it.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "services/features/online_slow_path.h"

namespace mlops::features {

// An OnlineFeaturesResult's encoding: lookup_id, the status, and (when OK)
// `response_wire`, a GetOnlineFeaturesResponse's encoding, as field 4.
std::string EncodeOnlineResult(uint64_t lookup_id, const grpc::Status& status,
                               const std::string& response_wire);

class OnlineStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // One lookup's encoded result. With `deferred` non-null it may instead set
  // *deferred and return nothing: it is then called again with nullptr off
  // gRPC's threads.
  using Answer = std::function<std::string(const grpc::ByteBuffer& lookup, bool* deferred)>;
  // Called once, right before the stream finishes, with its status.
  using Finished = std::function<void(const grpc::Status&)>;

  // Starts reading.
  OnlineStream(Answer answer, OnlineSlowPath* slow_path, Finished finished);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override;

 private:
  void Deliver(std::string result);
  // Finishes when nothing more can be written. Called without mu_ held.
  void MaybeFinish();

  const Answer answer_;
  OnlineSlowPath* const slow_path_;
  const Finished finished_;
  grpc::ByteBuffer read_buf_;   // owned by the read in flight
  grpc::ByteBuffer write_buf_;  // owned by the write in flight

  absl::Mutex mu_;
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);  // results waiting to be written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;  // a write failed: drop the rest
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  int deferred_ ABSL_GUARDED_BY(mu_) = 0;  // lookups on the slow path
};

}  // namespace mlops::features
