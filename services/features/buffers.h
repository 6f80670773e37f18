#pragma once
// Memory helpers for large in-memory tables.
//
// Buffer<T>: a std::vector whose resize() leaves new trivial elements
// uninitialized, so a large array does not touch (and make resident) its
// pages until it is written. EventTableBuilder relies on this to fill the
// sorted table while it releases the unsorted rows, keeping the peak near
// one copy of the data instead of two.
//
// RecordBlocks: an append-only list of fixed-width records (uint64 slots) in
// 256 KiB blocks mapped with mmap, so Release() returns the memory to the
// operating system at once (freed malloc memory often stays resident).
// Not thread-safe to mutate; const reads from many threads are fine.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace mlops::features {

template <typename T>
class DefaultInitAllocator : public std::allocator<T> {
 public:
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT

  // Value-less construction default-initializes: no zeroing for trivial T.
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible<U>::value) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <typename T>
using Buffer = std::vector<T, DefaultInitAllocator<T>>;

class RecordBlocks {
 public:
  static constexpr size_t kBlockBytes = size_t{256} << 10;

  // Records of `slots` uint64 values each (1 <= slots <= 32768).
  explicit RecordBlocks(size_t slots);
  ~RecordBlocks() { Release(); }
  RecordBlocks(RecordBlocks&& other) noexcept;
  RecordBlocks& operator=(RecordBlocks&&) = delete;
  RecordBlocks(const RecordBlocks&) = delete;
  RecordBlocks& operator=(const RecordBlocks&) = delete;

  // Space for one more record (its slots are uninitialized). Throws
  // std::bad_alloc when no memory can be mapped.
  uint64_t* Append() {
    if (in_last_ == per_block_ || blocks_.empty()) NewBlock();
    ++size_;
    return blocks_.back() + (in_last_++) * slots_;
  }
  size_t size() const { return size_; }

  // Calls f(const uint64_t* record) for every record, in append order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t b = 0; b < blocks_.size(); ++b) {
      const size_t n = b + 1 == blocks_.size() ? in_last_ : per_block_;
      for (size_t i = 0; i < n; ++i) f(blocks_[b] + i * slots_);
    }
  }

  // Unmaps every block; the list is empty afterwards.
  void Release();

 private:
  void NewBlock();

  size_t slots_;
  size_t per_block_;
  std::vector<uint64_t*> blocks_;
  size_t in_last_ = 0;
  size_t size_ = 0;
};

}  // namespace mlops::features
