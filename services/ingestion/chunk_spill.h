#pragma once
// ChunkSpill: the serialized row chunks of one batch, kept in an anonymous
// temporary file (std::tmpfile: deleted when closed, also on a crash) so that
// a batch's memory does not grow with its rows. Memory: 8 bytes per chunk.
// Not thread-safe: one batch, one thread.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/ingestion/ingestion_store.h"

namespace mlops::ingestion {

class ChunkSpill {
 public:
  // Internal when no temporary file can be created.
  static absl::StatusOr<std::unique_ptr<ChunkSpill>> Create();
  ~ChunkSpill();
  ChunkSpill(const ChunkSpill&) = delete;
  ChunkSpill& operator=(const ChunkSpill&) = delete;

  // ResourceExhausted when the disk is full.
  absl::Status Append(const ChunkData& chunk);
  // Calls fn on every chunk in order; may be called any number of times.
  // Stops at fn's first error and returns it.
  absl::Status ForEach(const std::function<absl::Status(const ChunkData&)>& fn) const;
  size_t chunk_count() const { return sizes_.size(); }

 private:
  explicit ChunkSpill(std::FILE* file) : file_(file) {}
  std::FILE* file_;
  std::vector<uint32_t> sizes_;
  std::vector<int32_t> row_counts_;
};

}  // namespace mlops::ingestion
