#pragma once
// SourceStore: persistence of pull sources (migrations/0002_sources.sql) and
// of the files CSV folder sources have taken. Protobuf-free: the source's
// definition and last pull travel as serialized proto bytes, which
// SourceCatalog / SourcePuller encode and decode. A pull's progress
// (watermark, file taken) is not written here but by
// IngestionStore::CommitVersion, in the version's own transaction.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mlops::ingestion {

struct SourceRecord {
  std::string name;
  std::string dataset;
  std::string definition;  // serialized v1.Source (inputs, created_at_micros, principal)
  int64_t interval_micros = 0;
  bool paused = false;
  std::optional<int64_t> watermark;  // Postgres query sources; nullopt = none yet
  bool watermark_is_timestamp = false;
  std::string last_pull;  // serialized v1.SourcePullResult; "" before the first pull
  int64_t pull_count = 0;
  int64_t committed_pull_count = 0;
  int64_t next_pull_at_micros = 0;
  int64_t created_at_micros = 0;
};

// A file a CSV folder source has ingested.
struct IngestedFile {
  std::string file;  // relative to the folder
  std::string sha256;
  int64_t size_bytes = 0;
  int64_t mtime_micros = 0;
};

// Thread-safe implementations only.
class SourceStore {
 public:
  virtual ~SourceStore() = default;

  // AlreadyExists when the name is taken; NotFound when the dataset is absent.
  virtual absl::Status CreateSource(const SourceRecord& source) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<SourceRecord> GetSource(const std::string& name) = 0;
  // Sources with name > after_name (of `dataset` if non-empty), ordered by
  // name; at most limit.
  virtual absl::StatusOr<std::vector<SourceRecord>> ListSources(const std::string& dataset,
                                                                const std::string& after_name,
                                                                int limit) = 0;
  // Records a finished pull: its result, one more pull (and committed pull),
  // and when the scheduler should pull next. NotFound when absent.
  virtual absl::Status RecordPull(const std::string& name, const std::string& result,
                                  bool committed, int64_t next_pull_at_micros) = 0;
  // The files the source has taken, ordered by name.
  virtual absl::StatusOr<std::vector<IngestedFile>> ListFiles(const std::string& source) = 0;
  // Names of scheduled, unpaused sources due at `now_micros` (earliest
  // first); at most limit.
  virtual absl::StatusOr<std::vector<std::string>> DueSources(int64_t now_micros, int limit) = 0;
};

}  // namespace mlops::ingestion
