#include "services/ingestion/chunk_spill.h"

#include <string>

namespace mlops::ingestion {

absl::StatusOr<std::unique_ptr<ChunkSpill>> ChunkSpill::Create() {
  std::FILE* f = std::tmpfile();
  if (f == nullptr) return absl::InternalError("cannot create a temporary file for the batch");
  return std::unique_ptr<ChunkSpill>(new ChunkSpill(f));
}

ChunkSpill::~ChunkSpill() { std::fclose(file_); }

absl::Status ChunkSpill::Append(const ChunkData& chunk) {
  if (std::fseek(file_, 0, SEEK_END) != 0 ||
      std::fwrite(chunk.rows.data(), 1, chunk.rows.size(), file_) != chunk.rows.size()) {
    return absl::ResourceExhaustedError("cannot write the batch's temporary file");
  }
  sizes_.push_back(static_cast<uint32_t>(chunk.rows.size()));
  row_counts_.push_back(chunk.row_count);
  return absl::OkStatus();
}

absl::Status ChunkSpill::ForEach(const std::function<absl::Status(const ChunkData&)>& fn) const {
  if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0) {
    return absl::InternalError("cannot rewind the batch's temporary file");
  }
  ChunkData chunk;
  for (size_t i = 0; i < sizes_.size(); ++i) {
    chunk.row_count = row_counts_[i];
    chunk.rows.resize(sizes_[i]);
    if (std::fread(chunk.rows.data(), 1, sizes_[i], file_) != sizes_[i]) {
      return absl::InternalError("cannot read the batch's temporary file");
    }
    absl::Status s = fn(chunk);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace mlops::ingestion
