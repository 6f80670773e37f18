#include "services/ingestion/source_catalog.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/ingestion/proto_convert.h"
#include "services/ingestion/source_definition.h"
#include "services/ingestion/stored_records.h"

namespace mlops::ingestion {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

absl::StatusOr<v1::Source> SourceCatalog::CreateSource(const Principal& who,
                                                       const v1::CreateSourceRequest& req) {
  const v1::Source& in = req.source();
  MLOPS_RETURN_IF_ERROR(ValidateName("source name", in.name()));
  MLOPS_RETURN_IF_ERROR(ValidateName("source.dataset name", in.dataset()));
  MLOPS_ASSIGN_OR_RETURN(DatasetRecord dataset, datasets_->GetDataset(in.dataset()));
  MLOPS_ASSIGN_OR_RETURN(v1::Dataset meta, ParseStored<v1::Dataset>(dataset.meta, "dataset"));
  const Schema schema = SchemaFromProto(meta.schema());
  MLOPS_RETURN_IF_ERROR(ValidateSourceDefinition(in, schema));
  if (in.has_csv_folder() && !IsDirectory(in.csv_folder().path())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source.csv_folder.path \"", in.csv_folder().path(), "\": not an existing directory"));
  }
  const int64_t now = absl::ToUnixMicros(absl::Now());
  v1::Source def;
  def.set_name(in.name());
  def.set_dataset(in.dataset());
  def.set_mode(in.mode() == v1::INGEST_MODE_REPLACE ? v1::INGEST_MODE_REPLACE
                                                     : v1::INGEST_MODE_APPEND);
  def.set_interval_micros(in.interval_micros());
  def.set_paused(in.paused());
  if (in.has_postgres_query()) *def.mutable_postgres_query() = in.postgres_query();
  if (in.has_csv_folder()) *def.mutable_csv_folder() = in.csv_folder();
  def.set_created_at_micros(now);
  def.set_principal(who.name);

  SourceRecord rec;
  rec.name = in.name();
  rec.dataset = in.dataset();
  def.SerializeToString(&rec.definition);
  rec.interval_micros = in.interval_micros();
  rec.paused = in.paused();
  if (in.has_postgres_query()) {
    const int wm = schema.IndexOf(in.postgres_query().watermark_column());
    rec.watermark_is_timestamp = schema.columns[wm].type == DataType::kTimestamp;
    const common::v1::Value& init = in.postgres_query().initial_watermark();
    if (init.kind_case() == common::v1::Value::kInt64Value) rec.watermark = init.int64_value();
    if (init.kind_case() == common::v1::Value::kTimestampMicros) {
      rec.watermark = init.timestamp_micros();
    }
  }
  // A scheduled source is due at once; later pulls follow its interval.
  rec.next_pull_at_micros = in.interval_micros() > 0 ? now : 0;
  rec.created_at_micros = now;
  MLOPS_RETURN_IF_ERROR(sources_->CreateSource(rec));
  return ToProto(rec);
}

absl::StatusOr<v1::ListSourcesResponse> SourceCatalog::ListSources(
    const v1::ListSourcesRequest& req) {
  if (!req.dataset().empty()) {
    MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", req.dataset()));
    MLOPS_RETURN_IF_ERROR(datasets_->GetDataset(req.dataset()).status());
  }
  const std::string& token = req.page().page_token();
  if (!token.empty() && !IsValidName(token)) {
    return absl::InvalidArgumentError("page.page_token: malformed");
  }
  const int size = req.page().page_size() <= 0 ? kDefaultPage
                                               : std::min(req.page().page_size(), kMaxPage);
  MLOPS_ASSIGN_OR_RETURN(auto rows, sources_->ListSources(req.dataset(), token, size + 1));
  v1::ListSourcesResponse out;
  for (size_t i = 0; i < rows.size() && static_cast<int>(i) < size; ++i) {
    MLOPS_ASSIGN_OR_RETURN(*out.add_sources(), ToProto(rows[i]));
  }
  if (static_cast<int>(rows.size()) > size) out.set_next_page_token(rows[size - 1].name);
  return out;
}

absl::StatusOr<v1::Source> SourceCatalog::ToProto(const SourceRecord& r) {
  MLOPS_ASSIGN_OR_RETURN(v1::Source s, ParseStored<v1::Source>(r.definition, "source"));
  if (s.has_postgres_query()) {
    auto* q = s.mutable_postgres_query();
    if (q->connection_case() == v1::PostgresQuerySource::kDsn) q->set_dsn(RedactDsn(q->dsn()));
    if (r.watermark.has_value()) {
      if (r.watermark_is_timestamp) {
        s.mutable_watermark()->set_timestamp_micros(*r.watermark);
      } else {
        s.mutable_watermark()->set_int64_value(*r.watermark);
      }
    }
  }
  if (!r.last_pull.empty()) {
    MLOPS_ASSIGN_OR_RETURN(*s.mutable_last_pull(),
                           ParseStored<v1::SourcePullResult>(r.last_pull, "pull result"));
  }
  s.set_next_pull_at_micros(r.interval_micros > 0 && !r.paused ? r.next_pull_at_micros : 0);
  s.set_pull_count(r.pull_count);
  s.set_committed_pull_count(r.committed_pull_count);
  return s;
}

}  // namespace mlops::ingestion
