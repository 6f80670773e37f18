#include "services/ingestion/batch_session.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "google/protobuf/io/coded_stream.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/stats/profile_proto.h"
#include "common/status/status_macros.h"
#include "services/ingestion/ingestion.h"
#include "services/ingestion/proto_convert.h"
#include "services/ingestion/schema_validation.h"
#include "services/ingestion/stored_records.h"

namespace mlops::ingestion {
namespace {

// The contract's TIMESTAMP range: [0001-01-01, 9999-12-31T23:59:59.999999Z].
constexpr int64_t kMinTimestampMicros = -62135596800000000;
constexpr int64_t kMaxTimestampMicros = 253402300799999999;

// Rows have passed the schema checks; timestamps must also lie in range.
absl::Status CheckTimestamps(const Schema& schema, const std::vector<Row>& rows,
                             int64_t first_index) {
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < rows[r].size() && c < schema.columns.size(); ++c) {
      const Timestamp* t = std::get_if<Timestamp>(&rows[r][c]);
      if (t != nullptr && (t->micros < kMinTimestampMicros || t->micros > kMaxTimestampMicros)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "row ", first_index + static_cast<int64_t>(r), ", column \"", schema.columns[c].name,
            "\": timestamp ", t->micros, " is outside [0001-01-01, 9999-12-31]"));
      }
    }
  }
  return absl::OkStatus();
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// The rows of `in` as domain rows in `out`, reusing out's rows (and their
// storage) from the previous chunk instead of allocating them again.
void ConvertRows(const google::protobuf::RepeatedPtrField<common::v1::Row>& in,
                 std::vector<Row>* out) {
  out->resize(static_cast<size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    const common::v1::Row& from = in[i];
    Row& to = (*out)[static_cast<size_t>(i)];
    to.resize(static_cast<size_t>(from.values_size()));
    for (int j = 0; j < from.values_size(); ++j) {
      to[static_cast<size_t>(j)] = ValueFromProto(from.values(j));
    }
  }
}

// Appends `row` to `chunk`, a serialized v1.RowChunk, as its next `rows`
// element (field 1, length-delimited): the bytes RowChunk serialization
// produces, without copying the row into a RowChunk first.
void AppendRowToChunk(const common::v1::Row& row, std::string* chunk) {
  const size_t size = row.ByteSizeLong();
  uint8_t head[1 + 10];
  head[0] = 0x0A;  // field 1, wire type 2
  uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(size, head + 1);
  chunk->append(reinterpret_cast<const char*>(head), static_cast<size_t>(end - head));
  const size_t at = chunk->size();
  chunk->resize(at + size);
  row.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(chunk->data() + at));
}

}  // namespace

// ---------------------------------------------------------------------------
// BatchSession

BatchSession::~BatchSession() = default;

void BatchSession::SetPull(v1::PullInfo pull, common::v1::ResourceRef lineage_input,
                           SourceProgress progress) {
  pull_ = std::move(pull);
  pull_input_ = std::move(lineage_input);
  progress_ = std::move(progress);
}

absl::Status BatchSession::FlushPending() {
  if (pending_rows_ == 0) return absl::OkStatus();
  ChunkData c;
  c.row_count = pending_rows_;
  c.rows = std::move(pending_);
  bytes_ += static_cast<int64_t>(c.rows.size());
  // The spill holds the rows for a commit without staging and for a
  // revalidation. Once the staging is writing, it holds them (and reads them
  // back in its transaction), so the spill stops; a staging that fails after
  // that fails the batch.
  if (spill_complete_ && staging_ != nullptr && staging_->Writing()) spill_complete_ = false;
  if (spill_complete_) MLOPS_RETURN_IF_ERROR(spill_->Append(c));
  if (staging_ != nullptr && !staging_->Add(c)) {
    if (!spill_complete_) return StagingLost();
    staging_.reset();  // given up before writing: commit from the spill
  }
  ++chunk_count_;
  pending_ = std::move(c.rows);
  pending_.clear();
  pending_rows_ = 0;
  return absl::OkStatus();
}

absl::Status BatchSession::StagingLost() {
  return absl::UnavailableError(
      "the connection writing the batch's chunks to Postgres failed; nothing was stored, "
      "retry the batch");
}

absl::Status BatchSession::ForEachChunk(
    const std::function<absl::Status(const ChunkData&)>& fn) const {
  if (spill_complete_) return spill_->ForEach(fn);
  if (staging_ == nullptr) return StagingLost();
  return staging_->ForEachStaged(fn);
}

absl::Status BatchSession::AddChunk(const v1::RowChunk& chunk) {
  const absl::Time start = absl::Now();
  absl::Cleanup timed = [&] { in_add_chunk_ += absl::Now() - start; };
  if (rows_ + chunk.rows_size() > owner_->options_.max_batch_rows) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the batch exceeds the server's row limit of ", owner_->options_.max_batch_rows, " rows"));
  }
  std::vector<Row>& rows = rows_scratch_;
  ConvertRows(chunk.rows(), &rows);
  MLOPS_RETURN_IF_ERROR(validator_->CheckSchema(rows));
  // Two threads share the chunk: this one profiles it and checks its
  // timestamps; the stage runs the row checks, hashes the rows and stores
  // them. A failed chunk ends the batch, so what the other half did with it
  // never counts; the validation error wins over a storage error.
  if (store_stage_ == nullptr) store_stage_ = std::make_unique<PipelineStage>();
  store_stage_->Start([&]() -> absl::Status {
    MLOPS_RETURN_IF_ERROR(validator_->CheckRows(rows));
    return StoreChunk(chunk, rows);
  });
  validator_->ProfileRows(rows);
  absl::Status timestamps = CheckTimestamps(schema_, rows, rows_);
  absl::Status other_half = store_stage_->Wait();
  MLOPS_RETURN_IF_ERROR(timestamps);
  MLOPS_RETURN_IF_ERROR(other_half);
  validator_->EndChunk(rows.size());
  rows_ += chunk.rows_size();
  return absl::OkStatus();
}

absl::Status BatchSession::StoreChunk(const v1::RowChunk& chunk, const std::vector<Row>& rows) {
  encoded_.clear();
  for (const Row& row : rows) AppendCanonicalRow(row, &encoded_);
  id_hasher_->AddEncodedRows(encoded_, static_cast<int64_t>(rows.size()));
  content_hasher_->AddEncodedRows(encoded_, static_cast<int64_t>(rows.size()));
  for (const auto& r : chunk.rows()) {
    AppendRowToChunk(r, &pending_);
    if (++pending_rows_ >= owner_->options_.stored_chunk_rows) {
      MLOPS_RETURN_IF_ERROR(FlushPending());
    }
  }
  return absl::OkStatus();
}

absl::Status BatchSession::CheckEnd(int64_t end_row_count) {
  if (end_row_count != rows_) {
    return absl::InvalidArgumentError(absl::StrCat("BatchEnd.row_count is ", end_row_count,
                                                   " but ", rows_, " rows were received"));
  }
  if (rows_ == 0 && mode_ == IngestMode::kAppend) {
    return absl::InvalidArgumentError("an APPEND batch must have at least one row");
  }
  return FlushPending();
}

absl::StatusOr<ValidationReport> BatchSession::Revalidate(
    const std::optional<VersionRecord>& parent, std::string* version_id,
    stats::DatasetProfile* batch_profile) {
  std::optional<stats::DatasetProfile> parent_profile;
  if (parent.has_value()) {
    MLOPS_ASSIGN_OR_RETURN(parent_profile, StoredProfile(parent->profile));
  }
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<InMemoryExistingValues> existing,
                         owner_->LoadExistingValues(schema_, suite_, mode_, parent));
  BatchValidatorOptions opts;
  opts.parent_profile = parent_profile ? &*parent_profile : nullptr;
  opts.existing_values = existing.get();
  opts.version_includes_parent = mode_ == IngestMode::kAppend;
  MLOPS_ASSIGN_OR_RETURN(auto validator, BatchValidator::Create(schema_, suite_, opts));
  MLOPS_ASSIGN_OR_RETURN(
      auto hasher, VersionHasher::Create(header_.dataset(), parent ? parent->id : "", mode_,
                                         schema_));
  MLOPS_RETURN_IF_ERROR(ForEachChunk([&](const ChunkData& c) -> absl::Status {
    MLOPS_ASSIGN_OR_RETURN(auto chunk, ParseStored<v1::RowChunk>(c.rows, "chunk"));
    std::vector<Row> rows;
    RowsFromProto(chunk.rows(), &rows);
    MLOPS_RETURN_IF_ERROR(validator->AddChunk(rows));
    hasher.AddRows(rows);
    return absl::OkStatus();
  }));
  MLOPS_ASSIGN_OR_RETURN(ValidationReport report, validator->Finish());
  MLOPS_ASSIGN_OR_RETURN(*version_id, hasher.Finish());
  *batch_profile = validator->profile();
  return report;
}

absl::StatusOr<v1::ValidationReport> BatchSession::Validate(int64_t end_row_count) {
  MLOPS_RETURN_IF_ERROR(CheckEnd(end_row_count));
  MLOPS_ASSIGN_OR_RETURN(ValidationReport report, validator_->Finish());
  owner_->metrics_->ValidationSeconds(absl::ToDoubleSeconds(absl::Now() - started_));
  v1::ValidationReport out;
  ReportToProto(report, suite_proto_, &out);
  out.set_dataset(header_.dataset());
  out.set_parent_version_id(head_ ? head_->id : "");
  out.set_validated_at_micros(NowMicros());
  out.set_duration_micros(absl::ToInt64Microseconds(absl::Now() - started_));
  return out;
}

absl::StatusOr<v1::IngestBatchResponse> BatchSession::Commit(int64_t end_row_count) {
  MLOPS_RETURN_IF_ERROR(CheckEnd(end_row_count));
  MLOPS_ASSIGN_OR_RETURN(ValidationReport first_report, validator_->Finish());
  MLOPS_ASSIGN_OR_RETURN(std::string first_id, id_hasher_->Finish());
  MLOPS_ASSIGN_OR_RETURN(std::string digest, content_hasher_->Finish());
  const absl::Time streamed = absl::Now();
  owner_->metrics_->ValidationSeconds(absl::ToDoubleSeconds(streamed - started_));
  const std::string start_head = head_ ? head_->id : "";

  v1::IngestBatchResponse resp;
  auto report_proto = [&](const ValidationReport& r, const std::string& parent) {
    v1::ValidationReport p;
    ReportToProto(r, suite_proto_, &p);
    p.set_dataset(header_.dataset());
    p.set_parent_version_id(parent);
    p.set_validated_at_micros(NowMicros());
    p.set_duration_micros(absl::ToInt64Microseconds(absl::Now() - started_));
    return p;
  };
  // Failing rows per expectation, whether they rejected the batch (errors)
  // or were only recorded (warnings).
  auto count_failures = [&](const ValidationReport& r) {
    for (const ExpectationResult& e : r.results) {
      owner_->metrics_->ValidationFailures(header_.dataset(),
                                           std::string(RuleName(e.expectation.rule)),
                                           e.failing_count);
    }
  };
  // The rejection case does not need the store, unless an idempotent replay
  // applies (checked in the transaction below).
  if (!first_report.success && header_.idempotency_key().empty()) {
    count_failures(first_report);
    resp.set_outcome(v1::INGEST_OUTCOME_REJECTED);
    *resp.mutable_report() = report_proto(first_report, start_head);
    owner_->metrics_->Batch(header_.dataset(), "rejected", rows_, bytes_);
    return resp;
  }

  std::optional<ValidationReport> final_report;
  std::string final_parent;
  VersionRecord v;
  PreparedVersion prepared;
  auto prepare = [&](const std::optional<VersionRecord>& head)
      -> absl::StatusOr<std::optional<PreparedVersion>> {
    const std::string head_id = head ? head->id : "";
    if (!header_.expected_parent_version_id().empty() &&
        header_.expected_parent_version_id() != head_id) {
      return absl::AbortedError(absl::StrCat("expected parent version ",
                                             header_.expected_parent_version_id(),
                                             " but the head is ", head_id.empty() ? "none" : head_id));
    }
    std::string id = first_id;
    ValidationReport report = first_report;
    stats::DatasetProfile batch_profile = validator_->profile();
    if (head_id != start_head) {
      MLOPS_ASSIGN_OR_RETURN(report, Revalidate(head, &id, &batch_profile));
    }
    final_report = report;
    final_parent = head_id;
    if (!report.success) return std::optional<PreparedVersion>();
    stats::DatasetProfile profile = batch_profile;
    if (mode_ == IngestMode::kAppend && head.has_value()) {
      MLOPS_ASSIGN_OR_RETURN(stats::DatasetProfile parent_profile, StoredProfile(head->profile));
      MLOPS_ASSIGN_OR_RETURN(profile, stats::Merge(parent_profile, batch_profile));
    }
    v = VersionRecord{};
    v.id = id;
    v.dataset = header_.dataset();
    v.parent_id = head_id;
    v.mode = static_cast<int>(mode_);
    v.batch_row_count = rows_;
    v.row_count = rows_ + (mode_ == IngestMode::kAppend && head ? head->row_count : 0);
    v.principal = principal_.name;
    v.source = header_.source();
    v.created_at_micros = NowMicros();
    v.suite_version = suite_.version;
    v.idempotency_key = header_.idempotency_key();
    v.content_digest = digest;
    v1::DatasetVersion rec;
    rec.set_mode(mode_ == IngestMode::kAppend ? v1::INGEST_MODE_APPEND : v1::INGEST_MODE_REPLACE);
    rec.set_batch_size_bytes(bytes_);
    rec.set_created_at_micros(v.created_at_micros);
    rec.set_principal(v.principal);
    rec.set_source(v.source);
    rec.set_suite_version(v.suite_version);
    rec.set_idempotency_key(v.idempotency_key);
    auto* lin = rec.mutable_lineage();
    for (const auto& in : header_.lineage_inputs()) *lin->add_inputs() = in;
    if (pull_.has_value()) *lin->add_inputs() = pull_input_;
    if (head.has_value()) {
      auto* in = lin->add_inputs();
      in->set_kind(common::v1::RESOURCE_KIND_DATASET_VERSION);
      in->set_id(head_id);
      in->set_name(v.dataset);
    }
    lin->set_principal(v.principal);
    lin->set_created_at_micros(v.created_at_micros);
    lin->set_source(v.source);
    lin->set_code_version(header_.code_version());
    for (const auto& [k, val] : header_.annotations()) (*rec.mutable_annotations())[k] = val;
    if (pull_.has_value()) *rec.mutable_pull() = *pull_;
    rec.SerializeToString(&v.record);
    report_proto(report, head_id).SerializeToString(&v.report);
    common::v1::DatasetProfile pp;
    stats::DatasetProfileToProto(profile, &pp);
    pp.SerializeToString(&v.profile);
    stats::DatasetProfileToProto(batch_profile, &pp);
    pp.SerializeToString(&v.batch_profile);
    prepared.version = v;
    prepared.progress = progress_;
    prepared.chunks = [this](const std::function<absl::Status(const ChunkData&)>& fn) {
      return spill_->ForEach(fn);
    };
    return std::optional<PreparedVersion>(prepared);
  };
  std::optional<CommitOutcome> staged;
  if (staging_ != nullptr) {
    staged = staging_->Commit(header_.dataset(), header_.idempotency_key(), chunk_count_,
                              prepare);
    staging_.reset();
  }
  const bool overlapped = staged.has_value();
  if (!staged.has_value() && !spill_complete_) return StagingLost();
  if (!staged.has_value()) {
    MLOPS_ASSIGN_OR_RETURN(staged, owner_->store_->CommitVersion(header_.dataset(),
                                                                 header_.idempotency_key(), prepare));
  }
  CommitOutcome outcome = std::move(*staged);
  if (outcome.replayed) {
    if (outcome.version.content_digest != digest) {
      return absl::AlreadyExistsError(absl::StrCat(
          "idempotency_key \"", header_.idempotency_key(),
          "\" was used before for a batch with different content (version ", outcome.version.id,
          ")"));
    }
    resp.set_outcome(v1::INGEST_OUTCOME_REPLAYED);
    MLOPS_ASSIGN_OR_RETURN(*resp.mutable_version(), VersionToProto(outcome.version, false));
    MLOPS_ASSIGN_OR_RETURN(*resp.mutable_report(),
                           ParseStored<v1::ValidationReport>(outcome.version.report, "report"));
    owner_->metrics_->Batch(header_.dataset(), "replayed", rows_, bytes_);
    return resp;
  }
  count_failures(*final_report);
  if (!outcome.written) {
    resp.set_outcome(v1::INGEST_OUTCOME_REJECTED);
    *resp.mutable_report() = report_proto(*final_report, final_parent);
    owner_->metrics_->Batch(header_.dataset(), "rejected", rows_, bytes_);
    return resp;
  }
  owner_->NotifyCommit();
  LogInfo("batch_committed",
          {{"dataset", header_.dataset()},
           {"version", outcome.version.id},
           {"rows", absl::StrCat(rows_)},
           {"bytes", absl::StrCat(bytes_)},
           {"stream_s", absl::StrCat(absl::ToDoubleSeconds(streamed - started_))},
           {"add_chunk_s", absl::StrCat(absl::ToDoubleSeconds(in_add_chunk_))},
           {"commit_s", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - streamed))},
           {"chunks_copied", overlapped ? "while_streaming" : "at_commit"}});
  owner_->metrics_->Batch(header_.dataset(), "committed", rows_, bytes_);
  resp.set_outcome(v1::INGEST_OUTCOME_COMMITTED);
  MLOPS_ASSIGN_OR_RETURN(*resp.mutable_version(), VersionToProto(outcome.version, false));
  MLOPS_ASSIGN_OR_RETURN(*resp.mutable_report(),
                         ParseStored<v1::ValidationReport>(outcome.version.report, "report"));
  return resp;
}

}  // namespace mlops::ingestion
