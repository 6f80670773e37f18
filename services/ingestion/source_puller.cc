#include "services/ingestion/source_puller.h"

#include <cctype>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/ingestion/csv_folder_reader.h"
#include "services/ingestion/names.h"
#include "services/ingestion/proto_convert.h"
#include "services/ingestion/source_definition.h"
#include "services/ingestion/sql_source_reader.h"
#include "services/ingestion/stored_records.h"

namespace mlops::ingestion {
namespace {

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

common::v1::Value WatermarkValue(int64_t w, bool is_timestamp) {
  common::v1::Value v;
  if (is_timestamp) {
    v.set_timestamp_micros(w);
  } else {
    v.set_int64_value(w);
  }
  return v;
}

std::string WatermarkText(const std::optional<int64_t>& w) {
  return w.has_value() ? absl::StrCat(*w) : "none";
}

v1::SourcePullResult Failed(v1::SourcePullResult result, const absl::Status& s) {
  result.set_outcome(v1::PULL_OUTCOME_FAILED);
  result.set_error(std::string(s.message()));
  return result;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SourcePuller::DueSources(int limit) {
  return sources_->DueSources(NowMicros(), limit);
}

absl::StatusOr<v1::SourcePullResult> SourcePuller::Pull(const std::string& name) {
  MLOPS_RETURN_IF_ERROR(ValidateName("source name", name));
  MLOPS_ASSIGN_OR_RETURN(SourceRecord rec, sources_->GetSource(name));
  {
    absl::MutexLock lock(&mu_);
    if (!running_.insert(name).second) {
      return absl::AbortedError(
          absl::StrCat("a pull of source \"", name, "\" is already running; retry later"));
    }
  }
  absl::Cleanup done = [&] {
    absl::MutexLock lock(&mu_);
    running_.erase(name);
  };
  // Re-read after taking the slot: the previous pull may just have advanced it.
  MLOPS_ASSIGN_OR_RETURN(rec, sources_->GetSource(name));
  MLOPS_ASSIGN_OR_RETURN(v1::Source def, ParseStored<v1::Source>(rec.definition, "source"));
  const int64_t started = NowMicros();
  absl::StatusOr<Body> body = absl::UnknownError("no kind");
  absl::StatusOr<v1::Dataset> dataset = ingestion_->GetDataset(def.dataset());
  if (!dataset.ok()) {
    body = dataset.status();
  } else if (def.has_postgres_query()) {
    body = PullPostgres(rec, def, SchemaFromProto(dataset->schema()));
  } else if (def.has_csv_folder()) {
    body = PullCsv(rec, def, SchemaFromProto(dataset->schema()));
  }
  if (!body.ok()) {
    if (body.status().code() == absl::StatusCode::kInternal) {
      LogWarn("source_pull_internal_error", {{"source", name}, {"status", body.status().ToString()}});
    }
    v1::SourcePullResult r;
    r.mutable_pull()->set_source(name);
    body = Body{Failed(std::move(r), body.status()), false};
  }
  v1::SourcePullResult& result = body->result;
  result.set_source(name);
  result.set_started_at_micros(started);
  result.set_finished_at_micros(NowMicros());
  const bool committed = result.outcome() == v1::PULL_OUTCOME_COMMITTED;
  int64_t next = 0;
  if (rec.interval_micros > 0) {
    next = committed && body->backlog ? result.finished_at_micros()
                                      : result.finished_at_micros() + rec.interval_micros;
  }
  // A committed pull stands even if its bookkeeping cannot be written (the
  // source then shows the previous pull and is due again at once).
  if (absl::Status s = sources_->RecordPull(name, result.SerializeAsString(), committed, next);
      !s.ok()) {
    LogWarn("source_pull_record_failed", {{"source", name}, {"status", s.ToString()}});
    if (!committed) return s;
  }
  if (metrics_ != nullptr) {
    std::string outcome = v1::PullOutcome_Name(result.outcome()).substr(13);  // "PULL_OUTCOME_"
    for (char& c : outcome) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    metrics_->SourcePull(name, outcome);
  }
  LogInfo("source_pull", {{"source", name},
                          {"outcome", v1::PullOutcome_Name(result.outcome())},
                          {"rows", absl::StrCat(result.version().batch_row_count())},
                          {"version", result.version().id()},
                          {"error", result.error()}});
  return std::move(result);
}

absl::StatusOr<std::unique_ptr<BatchSession>> SourcePuller::StartBatch(const v1::Source& def) {
  v1::BatchHeader header;
  header.set_dataset(def.dataset());
  header.set_mode(def.mode());
  header.set_source(absl::StrCat("source:", def.name()));
  // Pulls are ingested as the source's creator.
  return ingestion_->StartBatch(Principal{def.principal(), Role::kEditor}, header, false);
}

absl::Status SourcePuller::Finish(BatchSession* session, int64_t rows, v1::PullInfo pull,
                                  const std::string& lineage_id, SourceProgress progress,
                                  v1::SourcePullResult* result) {
  *result->mutable_pull() = pull;
  common::v1::ResourceRef input;
  input.set_kind(common::v1::RESOURCE_KIND_EXTERNAL);
  input.set_id(lineage_id);
  input.set_name(pull.source());
  session->SetPull(std::move(pull), std::move(input), std::move(progress));
  MLOPS_ASSIGN_OR_RETURN(v1::IngestBatchResponse resp, session->Commit(rows));
  *result->mutable_report() = resp.report();
  if (resp.outcome() == v1::INGEST_OUTCOME_COMMITTED) {
    result->set_outcome(v1::PULL_OUTCOME_COMMITTED);
    *result->mutable_version() = resp.version();
  } else {
    result->set_outcome(v1::PULL_OUTCOME_REJECTED);
  }
  return absl::OkStatus();
}

absl::StatusOr<SourcePuller::Body> SourcePuller::PullPostgres(const SourceRecord& rec,
                                                              const v1::Source& def,
                                                              const Schema& schema) {
  const v1::PostgresQuerySource& q = def.postgres_query();
  SqlPullSpec spec;
  if (q.connection_case() == v1::PostgresQuerySource::kDsnEnvVar) {
    const char* env = std::getenv(q.dsn_env_var().c_str());
    if (env == nullptr || *env == '\0') {
      return absl::FailedPreconditionError(
          absl::StrCat("dsn_env_var ", q.dsn_env_var(), " is not set on the ingestion server"));
    }
    spec.dsn = env;
  } else {
    spec.dsn = q.dsn();
  }
  spec.query = q.query();
  spec.watermark_column = q.watermark_column();
  spec.watermark_from = rec.watermark;
  spec.max_rows = MaxRowsPerPull(q);
  spec.statement_timeout = StatementTimeout(q);
  spec.chunk_rows = options_.chunk_rows;
  std::unique_ptr<BatchSession> session;
  MLOPS_ASSIGN_OR_RETURN(
      SqlPullStats stats,
      ReadSqlSource(spec, schema, [&](std::vector<Row>& rows, int64_t) -> absl::Status {
        if (session == nullptr) {
          MLOPS_ASSIGN_OR_RETURN(session, StartBatch(def));
        }
        v1::RowChunk chunk;
        RowsToProto(rows, chunk.mutable_rows());
        return session->AddChunk(chunk);  // names rows by their index in the batch
      }));
  Body body;
  if (stats.rows == 0) {
    body.result.set_outcome(v1::PULL_OUTCOME_NO_NEW_DATA);
    body.result.mutable_pull()->set_source(def.name());
    if (rec.watermark.has_value()) {
      *body.result.mutable_pull()->mutable_watermark_from() =
          WatermarkValue(*rec.watermark, rec.watermark_is_timestamp);
    }
    return body;
  }
  v1::PullInfo pull;
  pull.set_source(def.name());
  if (rec.watermark.has_value()) {
    *pull.mutable_watermark_from() = WatermarkValue(*rec.watermark, rec.watermark_is_timestamp);
  }
  *pull.mutable_watermark_to() = WatermarkValue(*stats.watermark_to, rec.watermark_is_timestamp);
  SourceProgress progress;
  progress.source = def.name();
  progress.advances_watermark = true;
  progress.watermark_from = rec.watermark;
  progress.watermark_to = *stats.watermark_to;
  const std::string lineage_id =
      absl::StrCat("postgres-query:", def.name(), "?watermark=(", WatermarkText(rec.watermark),
                   ",", *stats.watermark_to, "]");
  MLOPS_RETURN_IF_ERROR(
      Finish(session.get(), stats.rows, std::move(pull), lineage_id, progress, &body.result));
  body.backlog = stats.rows >= spec.max_rows;
  return body;
}

absl::StatusOr<SourcePuller::Body> SourcePuller::PullCsv(const SourceRecord& rec,
                                                         const v1::Source& def,
                                                         const Schema& schema) {
  const v1::CsvFolderSource& c = def.csv_folder();
  const int64_t newest = NowMicros() - absl::ToInt64Microseconds(MinFileAge(c));
  MLOPS_ASSIGN_OR_RETURN(std::vector<CsvFileInfo> files,
                         ListCsvFiles(c.path(), CsvGlob(c), newest, options_.max_listed_files));
  MLOPS_ASSIGN_OR_RETURN(std::vector<IngestedFile> taken, sources_->ListFiles(rec.name));
  MLOPS_ASSIGN_OR_RETURN(std::optional<NextCsvFile> next, ChooseNextCsvFile(c.path(), files, taken));
  Body body;
  if (!next.has_value()) {
    body.result.set_outcome(v1::PULL_OUTCOME_NO_NEW_DATA);
    body.result.mutable_pull()->set_source(def.name());
    return body;
  }
  v1::PullInfo pull;
  pull.set_source(def.name());
  pull.set_file(next->info.name);
  pull.set_file_sha256(next->sha256);
  CsvOptions options;
  options.delimiter = CsvDelimiter(c);
  options.has_header = !c.no_header();
  options.header_any_order = true;
  options.null_text = c.null_text();
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<BatchSession> session, StartBatch(def));
  int64_t rows = 0;
  absl::StatusOr<std::string> sha = ReadCsvFile(
      c.path(), next->info.name, schema, options, options_.chunk_rows,
      [&](std::vector<Row>& chunk_rows) -> absl::Status {
        v1::RowChunk chunk;
        RowsToProto(chunk_rows, chunk.mutable_rows());
        rows += static_cast<int64_t>(chunk_rows.size());
        absl::Status s = session->AddChunk(chunk);
        if (!s.ok()) return absl::Status(s.code(), absl::StrCat(next->info.name, " ", s.message()));
        return s;
      });
  if (!sha.ok()) {
    body.result = Failed(std::move(body.result), sha.status());
    *body.result.mutable_pull() = pull;
    return body;
  }
  if (*sha != next->sha256) {
    return absl::FailedPreconditionError(
        absl::StrCat(next->info.name, " changed while it was read; it will be pulled again"));
  }
  SourceProgress progress;
  progress.source = def.name();
  progress.file = next->info.name;
  progress.file_sha256 = next->sha256;
  progress.file_size_bytes = next->info.size_bytes;
  progress.file_mtime_micros = next->info.mtime_micros;
  const std::string lineage_id =
      absl::StrCat("file://", c.path(), c.path().back() == '/' ? "" : "/", next->info.name,
                   "#sha256=", next->sha256);
  MLOPS_RETURN_IF_ERROR(Finish(session.get(), rows, pull, lineage_id, progress, &body.result));
  body.backlog = next->more;
  return body;
}

}  // namespace mlops::ingestion
