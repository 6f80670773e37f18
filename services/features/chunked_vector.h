#pragma once
// ChunkedVector<T>: an append-only sequence stored in fixed blocks of 65536
// elements, so growing it never copies (no 2x peak while a std::vector
// reallocates, no capacity slack beyond one block). Used to collect the rows
// of a view while they stream in. Not thread-safe to mutate; const access
// from many threads is fine.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace mlops::features {

template <typename T>
class ChunkedVector {
 public:
  static constexpr int kBlockBits = 16;
  static constexpr size_t kBlockSize = size_t{1} << kBlockBits;

  void push_back(const T& value) {
    if ((size_ & (kBlockSize - 1)) == 0) {
      blocks_.push_back(std::make_unique<T[]>(kBlockSize));
    }
    blocks_.back()[size_ & (kBlockSize - 1)] = value;
    ++size_;
  }
  // Element i; i < size().
  const T& operator[](size_t i) const { return blocks_[i >> kBlockBits][i & (kBlockSize - 1)]; }
  T& operator[](size_t i) { return blocks_[i >> kBlockBits][i & (kBlockSize - 1)]; }
  size_t size() const { return size_; }
  // Appends `n` value-initialized elements.
  void AppendZeros(size_t n) {
    for (size_t i = 0; i < n; ++i) push_back(T{});
  }
  void Clear() {
    blocks_.clear();
    blocks_.shrink_to_fit();
    size_ = 0;
  }
  size_t MemoryBytes() const { return blocks_.size() * kBlockSize * sizeof(T); }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  size_t size_ = 0;
};

}  // namespace mlops::features
