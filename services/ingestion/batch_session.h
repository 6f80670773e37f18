#pragma once
// BatchSession: one IngestBatch / ValidateBatch stream after its header:
// validates and profiles row chunks as they arrive, spills them, and commits
// the version (or reports) at BatchEnd. Created by Ingestion::StartBatch.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/auth/role.h"
#include "common/stats/column_profile.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/batch_validator.h"
#include "services/ingestion/chunk_spill.h"
#include "services/ingestion/existing_values.h"
#include "services/ingestion/expectations.h"
#include "services/ingestion/ingestion_store.h"
#include "services/ingestion/pipeline_stage.h"
#include "services/ingestion/value.h"
#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {

class Ingestion;

// One IngestBatch / ValidateBatch stream, after its header. Owns the batch's
// buffered chunks, the validator and a helper thread that AddChunk shares
// its work with; not thread-safe (one stream, one caller at a time).
class BatchSession {
 public:
  ~BatchSession();
  // Validates, profiles and buffers the rows. InvalidArgument naming the row
  // (0-based in the batch) and column.
  absl::Status AddChunk(const v1::RowChunk& chunk);
  // After BatchEnd: validates the count, runs the suite and commits.
  absl::StatusOr<v1::IngestBatchResponse> Commit(int64_t end_row_count);
  // After BatchEnd: the dry run's report.
  absl::StatusOr<v1::ValidationReport> Validate(int64_t end_row_count);
  // Marks the batch as a source's pull (before Commit): the version records
  // `pull` and `lineage_input` (the source and its watermark range or file),
  // and its commit advances the source (`progress`) in the same transaction;
  // a batch that is not committed advances nothing.
  void SetPull(v1::PullInfo pull, common::v1::ResourceRef lineage_input, SourceProgress progress);

 private:
  friend class Ingestion;
  BatchSession() = default;
  absl::Status FlushPending();
  // The batch's stored chunks, in order: from the spill, or read back from
  // the staging (only inside its Commit) when the spill stopped.
  absl::Status ForEachChunk(const std::function<absl::Status(const ChunkData&)>& fn) const;
  static absl::Status StagingLost();
  // The store half of AddChunk: the rows' canonical encoding into both
  // hashers, and their wire form into the pending stored chunk.
  absl::Status StoreChunk(const v1::RowChunk& chunk, const std::vector<Row>& rows);
  absl::Status CheckEnd(int64_t end_row_count);
  // Validates all buffered rows again against `parent` (the current head).
  absl::StatusOr<ValidationReport> Revalidate(const std::optional<VersionRecord>& parent,
                                              std::string* version_id,
                                              stats::DatasetProfile* batch_profile);

  Ingestion* owner_ = nullptr;
  Principal principal_;
  v1::BatchHeader header_;
  IngestMode mode_ = IngestMode::kAppend;
  DatasetRecord dataset_;
  Schema schema_;
  ExpectationSuite suite_;
  v1::ExpectationSuite suite_proto_;
  std::optional<VersionRecord> head_;  // at the start of the stream, with blobs
  std::unique_ptr<InMemoryExistingValues> existing_;  // for validator_; may be null
  std::unique_ptr<BatchValidator> validator_;
  std::optional<VersionHasher> id_hasher_;       // against head_
  std::optional<VersionHasher> content_hasher_;  // parent-independent
  std::unique_ptr<ChunkSpill> spill_;  // the batch's rows, as stored chunks
  // The store writing the chunks while they stream (null: they are written
  // at commit, from spill_). Declared after spill_: rolled back first.
  std::unique_ptr<ChunkStaging> staging_;
  // The spill holds every chunk (false: it stopped once staging_ was writing).
  bool spill_complete_ = true;
  size_t chunk_count_ = 0;  // chunks flushed
  // The serialized v1.RowChunk being filled (rows appended in wire form).
  std::string pending_;
  int32_t pending_rows_ = 0;
  std::vector<Row> rows_scratch_;  // the chunk being added, as domain rows
  std::string encoded_;  // scratch: the chunk's canonical encoding, for both hashers
  int64_t rows_ = 0;
  int64_t bytes_ = 0;
  std::optional<v1::PullInfo> pull_;  // set for a source's pull
  common::v1::ResourceRef pull_input_;
  SourceProgress progress_;
  absl::Time started_;
  absl::Duration in_add_chunk_;  // time spent in AddChunk (the rest: waiting for rows)
  // Runs StoreChunk and the row checks of a chunk while AddChunk's thread
  // profiles it (started at the first chunk). Last: joined first.
  std::unique_ptr<PipelineStage> store_stage_;
};

}  // namespace mlops::ingestion
