#include "services/features/buffers.h"

#include <sys/mman.h>

namespace mlops::features {

RecordBlocks::RecordBlocks(size_t slots)
    : slots_(slots), per_block_(kBlockBytes / (slots * sizeof(uint64_t))) {}

RecordBlocks::RecordBlocks(RecordBlocks&& other) noexcept
    : slots_(other.slots_),
      per_block_(other.per_block_),
      blocks_(std::move(other.blocks_)),
      in_last_(other.in_last_),
      size_(other.size_) {
  other.blocks_.clear();
  other.in_last_ = 0;
  other.size_ = 0;
}

void RecordBlocks::NewBlock() {
  void* p = mmap(nullptr, kBlockBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  blocks_.push_back(static_cast<uint64_t*>(p));
  in_last_ = 0;
}

void RecordBlocks::Release() {
  for (uint64_t* b : blocks_) munmap(b, kBlockBytes);
  blocks_.clear();
  blocks_.shrink_to_fit();
  in_last_ = 0;
  size_ = 0;
}

}  // namespace mlops::features
