#include "services/ingestion/ingestion.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/ingestion/names.h"
#include "services/ingestion/stored_records.h"
#include "common/stats/profile_proto.h"
#include "services/ingestion/proto_convert.h"
#include "services/ingestion/schema_validation.h"

namespace mlops::ingestion {
namespace {

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;
constexpr size_t kMaxIdempotencyKey = 128;

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

int PageSize(const common::v1::PageRequest& page) {
  if (page.page_size() <= 0) return kDefaultPage;
  return std::min(page.page_size(), kMaxPage);
}


absl::Status ValidateVersionId(const std::string& id) {
  bool ok = id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("version id \"", id.substr(0, 80), "\": must be 64 lowercase hex characters"));
}

absl::Status ValidateIdempotencyKey(const std::string& key) {
  if (key.size() > kMaxIdempotencyKey) {
    return absl::InvalidArgumentError("idempotency_key: at most 128 bytes");
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return absl::InvalidArgumentError("idempotency_key: only [A-Za-z0-9._:-] allowed");
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// Ingestion

Ingestion::Ingestion(IngestionStore* store, IngestionMetrics* metrics, IngestionOptions options)
    : store_(store), metrics_(metrics), options_(options) {}

void Ingestion::NotifyCommit() {
  absl::MutexLock lock(&mu_);
  ++commits_;
}

uint64_t Ingestion::commit_count() const {
  absl::MutexLock lock(&mu_);
  return commits_;
}

uint64_t Ingestion::WaitForCommit(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  struct Arg {
    const uint64_t* commits;
    uint64_t seen;
  } arg{&commits_, seen};
  mu_.AwaitWithTimeout(absl::Condition(+[](Arg* a) { return *a->commits > a->seen; }, &arg),
                       timeout);
  return commits_;
}

absl::StatusOr<v1::Dataset> Ingestion::DatasetToProto(const DatasetRecord& d) const {
  MLOPS_ASSIGN_OR_RETURN(v1::Dataset out, ParseStored<v1::Dataset>(d.meta, "dataset"));
  MLOPS_ASSIGN_OR_RETURN(*out.mutable_expectations(),
                         ParseStored<v1::ExpectationSuite>(d.suite, "suite"));
  out.set_head_version_id(d.head_version_id);
  out.set_head_sequence(d.head_sequence);
  out.set_head_row_count(d.head_row_count);
  out.set_created_at_micros(d.created_at_micros);
  out.set_updated_at_micros(d.updated_at_micros);
  return out;
}

absl::StatusOr<v1::Dataset> Ingestion::CreateDataset(const Principal& who,
                                                     const v1::CreateDatasetRequest& req) {
  MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", req.name()));
  if (req.description().size() > 4096) {
    return absl::InvalidArgumentError("description: at most 4096 bytes");
  }
  Schema schema = SchemaFromProto(req.schema());
  MLOPS_RETURN_IF_ERROR(ValidateSchema(schema));
  ExpectationSuite suite;
  MLOPS_RETURN_IF_ERROR(SuiteFromProto(req.expectations(), 1, &suite));
  MLOPS_RETURN_IF_ERROR(ValidateSuite(schema, suite));
  const int64_t now = NowMicros();
  v1::Dataset meta;
  meta.set_name(req.name());
  meta.set_description(req.description());
  *meta.mutable_schema() = req.schema();
  meta.set_principal(who.name);
  for (const auto& [k, v] : req.labels()) (*meta.mutable_labels())[k] = v;
  v1::ExpectationSuite sp;
  sp.set_version(1);
  *sp.mutable_expectations() = req.expectations();
  sp.set_created_at_micros(now);
  sp.set_principal(who.name);
  DatasetRecord d;
  d.name = req.name();
  meta.SerializeToString(&d.meta);
  d.suite_version = 1;
  sp.SerializeToString(&d.suite);
  d.created_at_micros = now;
  d.updated_at_micros = now;
  MLOPS_RETURN_IF_ERROR(store_->CreateDataset(d));
  return DatasetToProto(d);
}

absl::StatusOr<v1::Dataset> Ingestion::GetDataset(const std::string& name) {
  MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", name));
  MLOPS_ASSIGN_OR_RETURN(DatasetRecord d, store_->GetDataset(name));
  return DatasetToProto(d);
}

absl::StatusOr<v1::ListDatasetsResponse> Ingestion::ListDatasets(
    const v1::ListDatasetsRequest& req) {
  if (!req.name_prefix().empty() && !IsValidName(req.name_prefix())) {
    return absl::InvalidArgumentError("name_prefix: must be a prefix of a valid name");
  }
  const std::string& token = req.page().page_token();
  if (!token.empty() && !IsValidName(token)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  int size = PageSize(req.page());
  MLOPS_ASSIGN_OR_RETURN(auto rows, store_->ListDatasets(req.name_prefix(), token, size + 1));
  v1::ListDatasetsResponse out;
  for (size_t i = 0; i < rows.size() && static_cast<int>(i) < size; ++i) {
    MLOPS_ASSIGN_OR_RETURN(*out.add_datasets(), DatasetToProto(rows[i]));
  }
  if (static_cast<int>(rows.size()) > size) out.set_next_page_token(rows[size - 1].name);
  return out;
}

absl::StatusOr<v1::ExpectationSuite> Ingestion::UpdateExpectations(
    const Principal& who, const v1::UpdateExpectationsRequest& req) {
  MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", req.dataset()));
  MLOPS_ASSIGN_OR_RETURN(DatasetRecord d, store_->GetDataset(req.dataset()));
  MLOPS_ASSIGN_OR_RETURN(v1::Dataset meta, ParseStored<v1::Dataset>(d.meta, "dataset"));
  Schema schema = SchemaFromProto(meta.schema());
  ExpectationSuite suite;
  MLOPS_RETURN_IF_ERROR(SuiteFromProto(req.expectations(), 0, &suite));
  MLOPS_RETURN_IF_ERROR(ValidateSuite(schema, suite));
  v1::ExpectationSuite sp;
  *sp.mutable_expectations() = req.expectations();
  sp.set_created_at_micros(NowMicros());
  sp.set_principal(who.name);
  MLOPS_ASSIGN_OR_RETURN(int64_t version,
                         store_->UpdateSuite(req.dataset(), req.expected_suite_version(),
                                             [&](int64_t next) {
                                               sp.set_version(next);
                                               return sp.SerializeAsString();
                                             }));
  sp.set_version(version);
  return sp;
}

absl::StatusOr<std::unique_ptr<InMemoryExistingValues>> Ingestion::LoadExistingValues(
    const Schema& schema, const ExpectationSuite& suite, IngestMode mode,
    const std::optional<VersionRecord>& parent) {
  std::vector<int> columns;
  for (const Expectation& e : suite.expectations) {
    const Unique* u = std::get_if<Unique>(&e.rule);
    int index = schema.IndexOf(e.column);
    if (u != nullptr && u->scope == UniqueScope::kVersion && index >= 0) columns.push_back(index);
  }
  std::unique_ptr<InMemoryExistingValues> out;
  if (columns.empty() || mode != IngestMode::kAppend || !parent.has_value()) return out;
  out = std::make_unique<InMemoryExistingValues>();
  MLOPS_ASSIGN_OR_RETURN(std::vector<ChunkRef> refs, store_->ListChunks(parent->id));
  for (const ChunkRef& ref : refs) {
    MLOPS_ASSIGN_OR_RETURN(std::string bytes, store_->ReadChunk(ref.chunk_id));
    MLOPS_ASSIGN_OR_RETURN(v1::RowChunk chunk, ParseStored<v1::RowChunk>(bytes, "chunk"));
    for (const common::v1::Row& row : chunk.rows()) {
      for (int c : columns) {
        if (c >= row.values_size()) continue;
        Value v = ValueFromProto(row.values(c));
        if (!IsNull(v)) out->Add(schema.columns[c].name, v);
      }
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<BatchSession>> Ingestion::StartBatch(const Principal& who,
                                                                    const v1::BatchHeader& header,
                                                                    bool dry_run) {
  MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", header.dataset()));
  if (!dry_run) MLOPS_RETURN_IF_ERROR(ValidateIdempotencyKey(header.idempotency_key()));
  if (header.source().size() > 1024) return absl::InvalidArgumentError("source: at most 1024 bytes");
  if (!header.expected_parent_version_id().empty()) {
    MLOPS_RETURN_IF_ERROR(ValidateVersionId(header.expected_parent_version_id()));
  }
  auto s = std::unique_ptr<BatchSession>(new BatchSession());
  s->owner_ = this;
  s->principal_ = who;
  s->header_ = header;
  s->started_ = absl::Now();
  s->mode_ = header.mode() == v1::INGEST_MODE_REPLACE ? IngestMode::kReplace : IngestMode::kAppend;
  MLOPS_ASSIGN_OR_RETURN(s->dataset_, store_->GetDataset(header.dataset()));
  MLOPS_ASSIGN_OR_RETURN(s->spill_, ChunkSpill::Create());
  MLOPS_ASSIGN_OR_RETURN(v1::Dataset meta, ParseStored<v1::Dataset>(s->dataset_.meta, "dataset"));
  s->schema_ = SchemaFromProto(meta.schema());
  MLOPS_ASSIGN_OR_RETURN(s->suite_proto_, ParseStored<v1::ExpectationSuite>(s->dataset_.suite, "suite"));
  MLOPS_RETURN_IF_ERROR(
      SuiteFromProto(s->suite_proto_.expectations(), s->dataset_.suite_version, &s->suite_));
  std::optional<stats::DatasetProfile> parent_profile;
  if (!s->dataset_.head_version_id.empty()) {
    MLOPS_ASSIGN_OR_RETURN(s->head_, store_->GetVersion(s->dataset_.head_version_id, true));
    MLOPS_ASSIGN_OR_RETURN(parent_profile, StoredProfile(s->head_->profile));
  }
  MLOPS_ASSIGN_OR_RETURN(s->existing_,
                         LoadExistingValues(s->schema_, s->suite_, s->mode_, s->head_));
  BatchValidatorOptions opts;
  opts.parent_profile = parent_profile ? &*parent_profile : nullptr;
  opts.existing_values = s->existing_.get();
  opts.version_includes_parent = s->mode_ == IngestMode::kAppend;
  MLOPS_ASSIGN_OR_RETURN(s->validator_, BatchValidator::Create(s->schema_, s->suite_, opts));
  MLOPS_ASSIGN_OR_RETURN(
      s->id_hasher_, VersionHasher::Create(header.dataset(), s->head_ ? s->head_->id : "",
                                           s->mode_, s->schema_));
  // Parent-independent identity of the batch's content, for idempotent
  // retries: the same encoding keyed by the source instead of the dataset.
  MLOPS_ASSIGN_OR_RETURN(s->content_hasher_,
                         VersionHasher::Create(absl::StrCat("content:", header.source()), "",
                                               s->mode_, s->schema_));
  // The chunks go to the store while the batch streams, where it can.
  if (!dry_run) s->staging_ = store_->StartStaging();
  return s;
}

absl::StatusOr<VersionRecord> Ingestion::Resolve(const v1::DatasetVersionRef& ref,
                                                 bool with_blobs) {
  const std::string& id = ref.version_id();
  if (!ref.dataset().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", ref.dataset()));
  if (id.empty() || id == "latest") {
    if (ref.dataset().empty()) {
      return absl::InvalidArgumentError("version: dataset or version_id is required");
    }
    MLOPS_ASSIGN_OR_RETURN(DatasetRecord d, store_->GetDataset(ref.dataset()));
    if (d.head_version_id.empty()) {
      return absl::NotFoundError(absl::StrCat("dataset \"", ref.dataset(), "\" has no version yet"));
    }
    return store_->GetVersion(d.head_version_id, with_blobs);
  }
  MLOPS_RETURN_IF_ERROR(ValidateVersionId(id));
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, store_->GetVersion(id, with_blobs));
  if (!ref.dataset().empty() && v.dataset != ref.dataset()) {
    return absl::NotFoundError(
        absl::StrCat("version ", id, " not found in dataset \"", ref.dataset(), "\""));
  }
  return v;
}

absl::StatusOr<v1::DatasetVersion> Ingestion::GetDatasetVersion(
    const v1::GetDatasetVersionRequest& req) {
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, Resolve(req.version(), req.include_report()));
  return VersionToProto(v, req.include_report());
}

absl::StatusOr<v1::ListDatasetVersionsResponse> Ingestion::ListDatasetVersions(
    const v1::ListDatasetVersionsRequest& req) {
  MLOPS_RETURN_IF_ERROR(ValidateName("dataset name", req.dataset()));
  int64_t after = 0;
  const std::string& token = req.page().page_token();
  if (!token.empty() && (!absl::SimpleAtoi(token, &after) || after <= 0)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  MLOPS_RETURN_IF_ERROR(store_->GetDataset(req.dataset()).status());
  int size = PageSize(req.page());
  MLOPS_ASSIGN_OR_RETURN(auto rows,
                         store_->ListVersions(req.dataset(), req.oldest_first(), after, size + 1));
  v1::ListDatasetVersionsResponse out;
  for (size_t i = 0; i < rows.size() && static_cast<int>(i) < size; ++i) {
    MLOPS_ASSIGN_OR_RETURN(*out.add_versions(), VersionToProto(rows[i], false));
  }
  if (static_cast<int>(rows.size()) > size) {
    out.set_next_page_token(absl::StrCat(rows[size - 1].sequence));
  }
  return out;
}

absl::Status Ingestion::ReadDatasetVersion(const v1::ReadDatasetVersionRequest& req,
                                           const std::function<bool(WireMessage)>& write) {
  if (req.offset() < 0 || req.limit() < 0) {
    return absl::InvalidArgumentError("offset and limit must not be negative");
  }
  if (req.chunk_rows() < 0 || req.chunk_rows() > 65536) {
    return absl::InvalidArgumentError("chunk_rows: must be in [0, 65536]");
  }
  const int chunk_rows = req.chunk_rows() == 0 ? 4096 : req.chunk_rows();
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, Resolve(req.version(), false));
  MLOPS_ASSIGN_OR_RETURN(DatasetRecord d, store_->GetDataset(v.dataset));
  MLOPS_ASSIGN_OR_RETURN(v1::Dataset meta, ParseStored<v1::Dataset>(d.meta, "dataset"));
  // Projection.
  std::vector<int> cols;
  common::v1::Schema out_schema;
  if (req.columns().empty()) {
    out_schema = meta.schema();
  } else {
    for (const std::string& name : req.columns()) {
      int found = -1;
      for (int i = 0; i < meta.schema().columns_size(); ++i) {
        if (meta.schema().columns(i).name() == name) found = i;
      }
      if (found < 0) {
        return absl::InvalidArgumentError(absl::StrCat("columns: unknown column \"", name, "\""));
      }
      if (std::find(cols.begin(), cols.end(), found) != cols.end()) {
        return absl::InvalidArgumentError(absl::StrCat("columns: duplicate column \"", name, "\""));
      }
      cols.push_back(found);
      *out_schema.add_columns() = meta.schema().columns(found);
    }
  }
  const int64_t begin = std::min(req.offset(), v.row_count);
  const int64_t end = req.limit() == 0 ? v.row_count : std::min(v.row_count, begin + req.limit());
  {
    v1::ReadDatasetVersionResponse msg;
    auto* header = msg.mutable_header();
    MLOPS_ASSIGN_OR_RETURN(*header->mutable_version(), VersionToProto(v, false));
    *header->mutable_schema() = out_schema;
    header->set_row_count(end - begin);
    if (!write(WireMessage{msg.SerializeAsString(), 0})) return absl::OkStatus();
  }
  if (end <= begin) return absl::OkStatus();

  // Chunks are encoded from the stored rows' bytes (read_wire.h).
  ReadStreamEncoder encoder(std::move(cols), chunk_rows, begin, end, write);
  absl::Status s = store_->ForEachChunk(
      v.id, begin, end,
      [&](const ChunkRef& ref, std::string_view bytes) { return encoder.Add(ref, bytes); });
  if (encoder.stopped()) return absl::OkStatus();
  MLOPS_RETURN_IF_ERROR(s);
  return encoder.Finish();
}

absl::StatusOr<v1::GetProfileResponse> Ingestion::GetProfile(const v1::GetProfileRequest& req) {
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, Resolve(req.version(), true));
  const bool batch = req.scope() == v1::PROFILE_SCOPE_BATCH;
  MLOPS_ASSIGN_OR_RETURN(auto profile, ParseStored<common::v1::DatasetProfile>(
                                           batch ? v.batch_profile : v.profile, "profile"));
  v1::GetProfileResponse out;
  out.set_version_id(v.id);
  out.set_scope(batch ? v1::PROFILE_SCOPE_BATCH : v1::PROFILE_SCOPE_VERSION);
  if (req.columns().empty()) {
    *out.mutable_profile() = std::move(profile);
    return out;
  }
  out.mutable_profile()->set_row_count(profile.row_count());
  for (const std::string& name : req.columns()) {
    auto it = std::find_if(profile.columns().begin(), profile.columns().end(),
                           [&](const common::v1::ColumnProfile& c) { return c.name() == name; });
    if (it == profile.columns().end()) {
      return absl::InvalidArgumentError(absl::StrCat("columns: unknown column \"", name, "\""));
    }
    *out.mutable_profile()->add_columns() = *it;
  }
  return out;
}

absl::StatusOr<v1::GetLineageResponse> Ingestion::GetLineage(const v1::GetLineageRequest& req) {
  if (req.max_ancestors() < 0 || req.max_ancestors() > 1000) {
    return absl::InvalidArgumentError("max_ancestors: must be in [0, 1000]");
  }
  MLOPS_ASSIGN_OR_RETURN(VersionRecord v, Resolve(req.version(), true));
  v1::GetLineageResponse out;
  MLOPS_ASSIGN_OR_RETURN(*out.mutable_version(), VersionToProto(v, true));
  MLOPS_ASSIGN_OR_RETURN(std::string suite, store_->GetSuite(v.dataset, v.suite_version));
  MLOPS_ASSIGN_OR_RETURN(*out.mutable_suite(), ParseStored<v1::ExpectationSuite>(suite, "suite"));
  std::string parent = v.parent_id;
  for (int i = 0; i < req.max_ancestors() && !parent.empty(); ++i) {
    MLOPS_ASSIGN_OR_RETURN(VersionRecord a, store_->GetVersion(parent, false));
    MLOPS_ASSIGN_OR_RETURN(*out.add_ancestors(), VersionToProto(a, false));
    parent = a.parent_id;
  }
  return out;
}

absl::StatusOr<std::vector<v1::DatasetVersion>> Ingestion::VersionsAfter(
    const std::string& dataset, int64_t after, int limit) {
  MLOPS_ASSIGN_OR_RETURN(auto rows, store_->VersionsAfter(dataset, after, limit));
  std::vector<v1::DatasetVersion> out;
  for (const auto& r : rows) {
    MLOPS_ASSIGN_OR_RETURN(v1::DatasetVersion p, VersionToProto(r, false));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Ingestion::DatasetHeads() {
  std::vector<std::pair<std::string, int64_t>> out;
  std::string after;
  for (int page = 0; page < 1000; ++page) {
    MLOPS_ASSIGN_OR_RETURN(auto rows, store_->ListDatasets("", after, kMaxPage));
    for (const auto& d : rows) out.emplace_back(d.name, d.head_sequence);
    if (static_cast<int>(rows.size()) < kMaxPage) break;
    after = rows.back().name;
  }
  return out;
}

}  // namespace mlops::ingestion
