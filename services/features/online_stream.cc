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

OnlineStream::OnlineStream(Answer answer, OnlineSlowPath* slow_path, Finished finished)
    : answer_(std::move(answer)), slow_path_(slow_path), finished_(std::move(finished)) {
  StartRead(&read_buf_);
}

void OnlineStream::OnReadDone(bool ok) {
  if (!ok) {
    {
      absl::MutexLock lock(&mu_);
      reads_done_ = true;
    }
    MaybeFinish();
    return;
  }
  bool deferred = false;
  std::string result = answer_(read_buf_, &deferred);
  if (deferred) {
    grpc::ByteBuffer lookup = read_buf_;  // shares the slices
    {
      absl::MutexLock lock(&mu_);
      ++deferred_;
    }
    const bool queued = slow_path_->Post([this, lookup] {
      std::string answered = answer_(lookup, nullptr);
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
  StartRead(&read_buf_);
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
  StartWrite(&write_buf_);
}

void OnlineStream::OnWriteDone(bool ok) {
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
    StartWrite(&write_buf_);
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
  const grpc::Status status =
      broken ? grpc::Status(grpc::StatusCode::CANCELLED, "a result could not be written")
             : grpc::Status::OK;
  if (finished_) finished_(status);
  Finish(status);
}

void OnlineStream::OnDone() { delete this; }

}  // namespace mlops::features
