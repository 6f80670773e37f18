#include "services/gateway/feature_lookups.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"

namespace mlops::gateway {

namespace fv1 = ::mlops::features::v1;

// One StreamOnlineFeatures stream. Writes are queued and written one at a
// time; a read is always outstanding. A hold keeps the call alive while the
// stream takes writes: it is removed once the stream is closed (its reads
// ended) and no write is in flight, so no write ever starts on a finished
// call. Owned through shared_ptrs (itself, until OnDone; FeatureLookups).
class FeatureLookups::Stream final
    : public grpc::ClientBidiReactor<fv1::OnlineFeaturesLookup, fv1::OnlineFeaturesResult> {
 public:
  Stream(FeatureLookups* owner, std::unique_ptr<grpc::ClientContext> ctx)
      : owner_(owner), ctx_(std::move(ctx)) {}

  // Binds the call and queues its first read; nothing runs until Go.
  void Bind(std::shared_ptr<Stream> self, fv1::FeatureService::Stub* stub) {
    self_ = std::move(self);
    stub->async()->StreamOnlineFeatures(ctx_.get(), this);
    AddHold();
    StartRead(&result_);
  }
  void Go() { StartCall(); }
  void Cancel() { ctx_->TryCancel(); }

  // False when the stream no longer takes lookups.
  bool Write(fv1::OnlineFeaturesLookup lookup) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return false;
      if (writing_) {
        queue_.push_back(std::move(lookup));
        return true;
      }
      writing_ = true;
      writing_now_ = std::move(lookup);
    }
    StartWrite(&writing_now_);
    return true;
  }

  void OnWriteDone(bool ok) override {
    bool next = false, release = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) closed_ = true;
      if (!closed_ && !queue_.empty()) {
        writing_now_ = std::move(queue_.front());
        queue_.pop_front();
        next = true;
      } else {
        writing_ = false;
        release = ReleaseHoldLocked();
      }
    }
    if (next) StartWrite(&writing_now_);
    if (release) RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      owner_->Answered(result_);
      StartRead(&result_);
      return;
    }
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      release = ReleaseHoldLocked();
    }
    {
      absl::MutexLock lock(&owner_->mu_);
      owner_->ForgetLocked(this);  // later lookups: a new one
    }
    if (release) RemoveHold();
  }

  void OnDone(const grpc::Status& status) override {
    FeatureLookups* const owner = owner_;
    owner->StreamDone(this, status);
    // Gone (with its context, which holds a reference to the channel) before
    // the owner may be: a channel's last reference must never drop on one
    // of gRPC's callback threads.
    std::shared_ptr<Stream> self = std::move(self_);
    self.reset();  // may delete this
    owner->CallEnded();
  }

 private:
  bool ReleaseHoldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!closed_ || writing_ || hold_released_) return false;
    hold_released_ = true;
    return true;
  }

  FeatureLookups* const owner_;
  const std::unique_ptr<grpc::ClientContext> ctx_;
  std::shared_ptr<Stream> self_;
  fv1::OnlineFeaturesResult result_;         // the read in flight's
  fv1::OnlineFeaturesLookup writing_now_;    // the write in flight's
  absl::Mutex mu_;
  std::deque<fv1::OnlineFeaturesLookup> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
};

FeatureLookups::FeatureLookups(const PeerChannel* features, bool stream)
    : features_(features),
      stub_(fv1::FeatureService::NewStub(features->channel())),
      unary_until_(stream ? std::chrono::steady_clock::time_point()
                          : std::chrono::steady_clock::time_point::max()),
      deadlines_([this] { WatchDeadlines(); }) {}

FeatureLookups::~FeatureLookups() {
  std::array<std::shared_ptr<Stream>, kStreams> streams;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    streams = streams_;
    changed_.SignalAll();
  }
  for (std::shared_ptr<Stream>& stream : streams) {
    if (stream != nullptr) stream->Cancel();
    stream.reset();
  }
  {
    absl::MutexLock lock(&mu_);
    while (live_calls_ > 0) changed_.Wait(&mu_);
  }
  deadlines_.join();
}

void FeatureLookups::Lookup(const fv1::GetOnlineFeaturesRequest* request,
                            fv1::GetOnlineFeaturesResponse* response,
                            std::chrono::system_clock::time_point deadline, Done done) {
  Pending p{request, response, deadline, std::move(done), nullptr};
  std::shared_ptr<Stream> stream;
  bool opened = false;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (std::chrono::steady_clock::now() < unary_until_) {
      ++live_calls_;
    } else {
      id = ++next_id_;
      std::shared_ptr<Stream>& slot = streams_[id % kStreams];
      if (slot == nullptr) {
        std::unique_ptr<grpc::ClientContext> ctx = features_->NewContext();
        ctx->set_deadline(std::chrono::system_clock::time_point::max());  // long-lived
        slot = std::make_shared<Stream>(this, std::move(ctx));
        slot->Bind(slot, stub_.get());
        ++live_calls_;
        opened = true;
      }
      stream = slot;
      p.stream = stream.get();
      if (deadline < next_check_) changed_.Signal();
      pending_.emplace(id, std::move(p));
    }
  }
  if (stream == nullptr) {
    LookupUnary(std::move(p));
    return;
  }
  if (opened) stream->Go();
  fv1::OnlineFeaturesLookup lookup;
  lookup.set_lookup_id(id);
  *lookup.mutable_request() = *request;
  if (stream->Write(std::move(lookup))) return;
  // The stream closed meanwhile: its end (StreamDone) ends this lookup too,
  // unless it already ran; then end it here.
  Pending lost;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    lost = std::move(it->second);
    pending_.erase(it);
  }
  lost.done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "feature service: the lookup stream ended"));
}

void FeatureLookups::LookupUnary(Pending p) {
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    Pending p;
  };
  auto* call = new Call{features_->NewContext(), std::move(p)};  // deleted by its completion
  call->ctx->set_deadline(call->p.deadline);
  stub_->async()->GetOnlineFeatures(
      call->ctx.get(), call->p.request, call->p.response, [this, call](grpc::Status status) {
        {
          absl::MutexLock lock(&mu_);
          ++unary_;
        }
        call->p.done(status);
        delete call;  // its context first (see Stream::OnDone)
        CallEnded();
      });
}

void FeatureLookups::Answered(fv1::OnlineFeaturesResult& result) {
  Pending p;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(result.lookup_id());
    if (it == pending_.end()) return;  // timed out already
    p = std::move(it->second);
    pending_.erase(it);
    ++streamed_;
  }
  if (result.code() != 0) {
    p.done(grpc::Status(static_cast<grpc::StatusCode>(result.code()), result.message()));
    return;
  }
  p.response->Swap(result.mutable_response());
  p.done(grpc::Status::OK);
}

void FeatureLookups::StreamDone(const Stream* stream, const grpc::Status& status) {
  const bool unsupported = status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
  std::vector<Pending> ended;
  bool retry_unary = false;
  {
    absl::MutexLock lock(&mu_);
    ForgetLocked(stream);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.stream == stream) {
        ended.push_back(std::move(it->second));
        pending_.erase(it++);
      } else {
        ++it;
      }
    }
    if (unsupported) unary_until_ = std::chrono::steady_clock::now() + kRetryStreamAfter;
    // Lookups are reads: those the ended stream left unanswered are asked
    // again once, as unary calls (which reconnect, perhaps to another
    // replica), within their own deadlines.
    retry_unary = !stopping_;
    if (retry_unary) live_calls_ += static_cast<int>(ended.size());
  }
  if (unsupported) {
    LogInfo("features_lookup_stream_unsupported",
            {{"peer", features_->address()}, {"message", status.error_message()}});
  }
  const std::string why = "the lookup stream ended";
  for (Pending& p : ended) {
    if (retry_unary) {
      LookupUnary(std::move(p));
    } else {
      p.done(grpc::Status(grpc::StatusCode::UNAVAILABLE, why));
    }
  }
}

void FeatureLookups::ForgetLocked(const Stream* stream) {
  for (std::shared_ptr<Stream>& slot : streams_) {
    if (slot.get() == stream) slot.reset();
  }
}

void FeatureLookups::CallEnded() {
  absl::MutexLock lock(&mu_);
  if (--live_calls_ == 0) changed_.SignalAll();
}

void FeatureLookups::WatchDeadlines() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    const auto now = std::chrono::system_clock::now();
    auto earliest = now + std::chrono::seconds(1);
    std::vector<Pending> expired;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        pending_.erase(it++);
      } else {
        earliest = std::min(earliest, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      mu_.Unlock();
      for (Pending& p : expired) {
        p.done(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                            "deadline exceeded waiting for the feature service"));
      }
      mu_.Lock();
      continue;
    }
    // Lookups arriving later signal only when due before this (rare: the
    // next check is at most a second or the earliest deadline away).
    next_check_ = earliest;
    changed_.WaitWithDeadline(&mu_, absl::FromChrono(earliest));
  }
}

int64_t FeatureLookups::streamed() const {
  absl::MutexLock lock(&mu_);
  return streamed_;
}

int64_t FeatureLookups::unary() const {
  absl::MutexLock lock(&mu_);
  return unary_;
}

}  // namespace mlops::gateway
