#include "services/features/online_stream.h"

#include <utility>
#include <vector>

#include "mlops/features/v1/features.pb.h"

namespace mlops::features {
namespace {

// A buffer that owns `bytes` (no copy).
grpc::ByteBuffer OwningBuffer(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(owned->data(), owned->size(),
                    [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string EncodeOnlineResult(uint64_t lookup_id, const grpc::Status& status,
                               const std::string& response_wire) {
  v1::OnlineFeaturesResult head;
  head.set_lookup_id(lookup_id);
  head.set_code(static_cast<int32_t>(status.error_code()));
  head.set_message(status.error_message());
  std::string out = head.SerializeAsString();
  if (status.ok()) {
    // Field 4 (response), length-delimited: tag (4 << 3) | 2.
    out.push_back(static_cast<char>((4 << 3) | 2));
    AppendVarint(response_wire.size(), &out);
    out.append(response_wire);
  }
  return out;
}

void OnlineStream::Arm(Service* service, grpc::ServerCompletionQueue* queue,
                       OnlineSlowPath* slow_path, const Handlers* handlers, LiveCalls* live) {
  auto* stream = new OnlineStream(service, queue, slow_path, handlers, live);  // deletes itself
  stream->ctx_.AsyncNotifyWhenDone(&stream->done_);
  service->RequestStreamOnlineFeatures(&stream->ctx_, &stream->stream_, queue, queue,
                                       &stream->arrived_);
}

OnlineStream::OnlineStream(Service* service, grpc::ServerCompletionQueue* queue,
                           OnlineSlowPath* slow_path, const Handlers* handlers, LiveCalls* live)
    : service_(service), queue_(queue), slow_path_(slow_path), handlers_(handlers), live_(live) {
  live_->Add();
}

void OnlineStream::OnArrived(bool ok) {
  if (!ok) {  // no call (the server is shutting down): no done completion either
    delete this;
    return;
  }
  arrived_at_ = std::chrono::steady_clock::now();
  Arm(service_, queue_, slow_path_, handlers_, live_);
  const grpc::Status refused = handlers_->open(ctx_);
  if (!refused.ok()) {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    Finish(refused);
    return;
  }
  stream_.Read(&read_buf_, &read_);
}

void OnlineStream::OnRead(bool ok) {
  if (!ok) {
    {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
    }
    MaybeFinish();
    return;
  }
  bool deferred = false;
  std::string result = handlers_->answer(read_buf_, &deferred);
  if (deferred) {
    grpc::ByteBuffer lookup = read_buf_;  // shares the slices
    {
      absl::MutexLock lock(&mu_);
      ++deferred_;
    }
    const bool queued = slow_path_->Post([this, lookup] {
      std::string answered = handlers_->answer(lookup, nullptr);
      {
        absl::MutexLock lock(&mu_);
        --deferred_;
      }
      Deliver(std::move(answered));
    });
    if (!queued) {
      {
        absl::MutexLock lock(&mu_);
        --deferred_;
      }
      v1::OnlineFeaturesLookup parsed;
      std::vector<grpc::Slice> slices;
      uint64_t id = 0;
      if (lookup.Dump(&slices).ok() && slices.size() == 1 &&
          parsed.ParseFromArray(slices[0].begin(), static_cast<int>(slices[0].size()))) {
        id = parsed.lookup_id();
      }
      result = EncodeOnlineResult(
          id, grpc::Status(grpc::StatusCode::UNAVAILABLE, "too many calls wait for the view registry"),
          "");
      deferred = false;
    }
  }
  stream_.Read(&read_buf_, &read_);
  if (!deferred) Deliver(std::move(result));
}

void OnlineStream::Deliver(std::string result) {
  bool dropped = false;
  {
    absl::MutexLock lock(&mu_);
    if (broken_) {
      dropped = true;
    } else if (writing_) {
      ready_.push_back(std::move(result));
      return;
    } else {
      writing_ = true;
    }
  }
  if (dropped) {
    MaybeFinish();
    return;
  }
  write_buf_ = OwningBuffer(std::move(result));
  stream_.Write(write_buf_, &written_);
}

void OnlineStream::OnWritten(bool ok) {
  bool next = false;
  {
    absl::MutexLock lock(&mu_);
    if (!ok) {
      broken_ = true;
      ready_.clear();
    }
    if (!ready_.empty()) {
      write_buf_ = OwningBuffer(std::move(ready_.front()));
      ready_.pop_front();
      next = true;
    } else {
      writing_ = false;
    }
  }
  if (next) {
    stream_.Write(write_buf_, &written_);
    return;
  }
  MaybeFinish();
}

void OnlineStream::MaybeFinish() {
  bool broken = false;
  {
    absl::MutexLock lock(&mu_);
    if (finishing_ || !reads_done_ || deferred_ > 0 || writing_) return;
    finishing_ = true;
    broken = broken_;
  }
  Finish(broken ? grpc::Status(grpc::StatusCode::CANCELLED, "a result could not be written")
                : grpc::Status::OK);
}

void OnlineStream::Finish(const grpc::Status& status) {
  if (handlers_->finished) handlers_->finished(ctx_, arrived_at_, status);
  stream_.Finish(status, &finished_);
}

void OnlineStream::OnFinished(bool /*ok*/) { Release(); }

void OnlineStream::OnDone(bool /*ok*/) { Release(); }

void OnlineStream::Release() {
  if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace mlops::features
