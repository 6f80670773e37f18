#include "services/ingestion/read_reactor.h"

#include <utility>

namespace mlops::ingestion {
namespace {

// A buffer that owns `message`'s bytes and shows them from its offset (no copy).
grpc::ByteBuffer OwningBuffer(WireMessage message) {
  auto* owned = new std::string(std::move(message.bytes));
  grpc::Slice slice(owned->data() + message.offset, owned->size() - message.offset,
                    [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

ReadReactor* ReadReactor::Start(Producer produce, Finisher finish) {
  auto* r = new ReadReactor();
  std::lock_guard<std::mutex> lock(r->mu_);  // producer_ is set before the thread uses it
  r->producer_ = std::thread([r, produce = std::move(produce), finish = std::move(finish)] {
    r->Run(produce, finish);
  });
  return r;
}

ReadReactor* ReadReactor::Fail(grpc::Status status) {
  auto* r = new ReadReactor();
  r->Finish(std::move(status));
  return r;
}

void ReadReactor::Run(const Producer& produce, const Finisher& finish) {
  { std::lock_guard<std::mutex> lock(mu_); }
  absl::Status s = produce([this](WireMessage m) { return Enqueue(std::move(m)); });
  bool finish_now = false;
  grpc::Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (s.ok() && failed_) s = absl::CancelledError("the client cancelled the read");
    status_ = finish(s);
    produced_ = true;
    finish_now = !writing_;
    status = status_;
  }
  // Last touch of `this`: OnDone may delete it as soon as Finish returns.
  if (finish_now) Finish(status);
}

bool ReadReactor::Enqueue(WireMessage message) {
  grpc::ByteBuffer* start = nullptr;
  {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return failed_ || queue_.size() < kMaxQueued; });
    if (failed_) return false;
    queue_.push_back(OwningBuffer(std::move(message)));  // deque: front stays put
    if (!writing_) {
      writing_ = true;
      start = &queue_.front();
    }
  }
  if (start != nullptr) StartWrite(start);
  return true;
}

void ReadReactor::OnWriteDone(bool ok) {
  grpc::ByteBuffer* next = nullptr;
  bool finish_now = false;
  grpc::Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.pop_front();
    if (!ok) {
      failed_ = true;
      queue_.clear();
    }
    if (!queue_.empty()) {
      next = &queue_.front();
    } else {
      writing_ = false;
      finish_now = produced_;
      status = status_;
    }
  }
  room_.notify_all();
  if (next != nullptr) {
    StartWrite(next);
  } else if (finish_now) {
    Finish(status);
  }
}

void ReadReactor::OnCancel() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
  }
  room_.notify_all();
}

void ReadReactor::OnDone() {
  {
    std::lock_guard<std::mutex> lock(mu_);
  }
  if (producer_.joinable()) {
    if (producer_.get_id() == std::this_thread::get_id()) {
      producer_.detach();  // Finish ran OnDone inline; Run touches nothing after it
    } else {
      producer_.join();
    }
  }
  delete this;
}

}  // namespace mlops::ingestion
