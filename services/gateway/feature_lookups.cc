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

// One StreamOnlineFeatures stream, driven by gRPC's completion-queue API on
// one of FeatureLookups' queue threads. Writes are queued and written one
// at a time (the call's start counts as the first); a read is always
// outstanding once the call started. The call is finished (Finish, its
// last operation) once the stream is closed (its reads ended, or it failed
// to start) and no write or read is in flight, so no operation ever starts
// on a finished call. Owned through shared_ptrs (itself, until finished;
// FeatureLookups' slot).
class FeatureLookups::Stream final {
 public:
  // `foreign`: on a queue FeatureLookups does not own.
  Stream(FeatureLookups* owner, std::unique_ptr<grpc::ClientContext> ctx, bool foreign)
      : owner_(owner), ctx_(std::move(ctx)), foreign_(foreign) {}

  // Sets the call up on `queue`; nothing starts until Start. Writes queue
  // up until the start completes.
  void Prepare(std::shared_ptr<Stream> self, fv1::FeatureService::Stub* stub,
               grpc::CompletionQueue* queue) {
    self_ = std::move(self);
    call_ = stub->PrepareAsyncStreamOnlineFeatures(ctx_.get(), queue);
  }
  void Start() { call_->StartCall(&started_); }
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
    call_->Write(writing_now_, &written_);
    return true;
  }

 private:
  void OnStarted(bool ok) {
    if (ok) {
      {
        absl::MutexLock lock(&mu_);
        reading_ = true;
      }
      call_->Read(&result_, &read_);
    }
    OnWritten(ok);
  }

  void OnWritten(bool ok) {
    bool next = false, finish = false;
    {
      absl::MutexLock lock(&mu_);
      if (!ok) closed_ = true;
      if (!closed_ && !queue_.empty()) {
        writing_now_ = std::move(queue_.front());
        queue_.pop_front();
        next = true;
      } else {
        writing_ = false;
        finish = FinishNowLocked();
      }
    }
    if (next) call_->Write(writing_now_, &written_);
    if (finish) call_->Finish(&status_, &finished_);
  }

  void OnRead(bool ok) {
    if (ok) {
      owner_->Answered(result_);
      call_->Read(&result_, &read_);
      return;
    }
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
      reading_ = false;
      finish = FinishNowLocked();
    }
    {
      absl::MutexLock lock(&owner_->mu_);
      owner_->ForgetLocked(this);  // later lookups: a new one
    }
    if (finish) call_->Finish(&status_, &finished_);
  }

  void OnFinished(bool /*ok: always true for Finish*/) {
    FeatureLookups* const owner = owner_;
    owner->StreamDone(this, status_);
    // Gone (with its context, which holds a reference to the channel) before
    // the owner may be: the channel outlives every call on it.
    const bool foreign = foreign_;
    std::shared_ptr<Stream> self = std::move(self_);
    self.reset();  // may delete this
    owner->StreamEnded(foreign);
  }

  bool FinishNowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!closed_ || writing_ || reading_ || finishing_) return false;
    finishing_ = true;
    return true;
  }

  FeatureLookups* const owner_;
  const std::unique_ptr<grpc::ClientContext> ctx_;
  const bool foreign_;
  std::shared_ptr<Stream> self_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<fv1::OnlineFeaturesLookup, fv1::OnlineFeaturesResult>>
      call_;
  MethodTag<Stream> started_{this, &Stream::OnStarted};
  MethodTag<Stream> written_{this, &Stream::OnWritten};
  MethodTag<Stream> read_{this, &Stream::OnRead};
  MethodTag<Stream> finished_{this, &Stream::OnFinished};
  fv1::OnlineFeaturesResult result_;         // the read in flight's
  fv1::OnlineFeaturesLookup writing_now_;    // the write in flight's
  grpc::Status status_;                      // Finish's
  absl::Mutex mu_;
  std::deque<fv1::OnlineFeaturesLookup> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = true;  // the start, then a write
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
};

FeatureLookups::FeatureLookups(const PeerChannel* features, bool stream)
    : features_(features),
      stub_(fv1::FeatureService::NewStub(features->channel())),
      unary_until_(stream ? std::chrono::steady_clock::time_point()
                          : std::chrono::steady_clock::time_point::max()),
      deadlines_([this] { WatchDeadlines(); }) {}

FeatureLookups::~FeatureLookups() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (const auto& [queue, slots] : streams_) streams.insert(streams.end(), slots.begin(), slots.end());
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
      grpc::CompletionQueue* queue = QueueForLookupLocked(id);
      std::shared_ptr<Stream>& slot = streams_[queue][id % kStreamsPerQueue];
      if (slot == nullptr) {
        std::unique_ptr<grpc::ClientContext> ctx = features_->NewContext();
        ctx->set_deadline(std::chrono::system_clock::time_point::max());  // long-lived
        const bool foreign = queue != nullptr && !IsOwnQueueLocked(queue);
        slot = std::make_shared<Stream>(this, std::move(ctx), foreign);
        slot->Prepare(slot, stub_.get(), queue);
        ++live_calls_;
        if (foreign) ++foreign_streams_;
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
  if (opened) stream->Start();
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

grpc::CompletionQueue* FeatureLookups::QueueForLookupLocked(uint64_t id) {
  grpc::CompletionQueue* current = CompletionQueueThreads::CurrentQueue();
  if (current != nullptr && (!released_ || IsOwnQueueLocked(current))) return current;
  if (own_queues_ == nullptr) own_queues_ = std::make_unique<CompletionQueueThreads>(kQueues, "feature-lookup");
  return own_queues_->queue(static_cast<int>(id / kStreamsPerQueue % kQueues));
}

bool FeatureLookups::IsOwnQueueLocked(const grpc::CompletionQueue* queue) const {
  if (own_queues_ == nullptr) return false;
  for (int i = 0; i < own_queues_->size(); ++i) {
    if (own_queues_->queue(i) == queue) return true;
  }
  return false;
}

void FeatureLookups::ReleaseQueues() {
  std::vector<std::shared_ptr<Stream>> foreign;
  absl::MutexLock lock(&mu_);
  released_ = true;
  for (const auto& [queue, slots] : streams_) {
    if (IsOwnQueueLocked(queue)) continue;
    for (const std::shared_ptr<Stream>& stream : slots) {
      if (stream != nullptr) foreign.push_back(stream);
    }
  }
  mu_.Unlock();
  for (std::shared_ptr<Stream>& stream : foreign) {
    stream->Cancel();
    stream.reset();
  }
  mu_.Lock();
  while (foreign_streams_ > 0) changed_.Wait(&mu_);
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
  for (auto& [queue, slots] : streams_) {
    for (std::shared_ptr<Stream>& slot : slots) {
      if (slot.get() == stream) slot.reset();
    }
  }
}

void FeatureLookups::CallEnded() {
  absl::MutexLock lock(&mu_);
  if (--live_calls_ == 0) changed_.SignalAll();
}

void FeatureLookups::StreamEnded(bool foreign) {
  absl::MutexLock lock(&mu_);
  if (foreign && --foreign_streams_ == 0) changed_.SignalAll();
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
