#pragma once
// The file-system side of CSV folder sources: listing candidate files,
// choosing the next new one, hashing, and streaming a file's typed rows in
// chunks through CsvReader (so memory is bounded by one chunk and one
// record, whatever the file's size). Functions are thread-safe.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingestion/csv.h"
#include "services/ingestion/source_store.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

struct CsvFileInfo {
  std::string name;  // relative to the folder
  int64_t size_bytes = 0;
  int64_t mtime_micros = 0;
};

// Regular files directly in `folder` whose names match `glob` (fnmatch) and
// were last modified at or before `newest_mtime_micros`, ordered by name; at
// most `max_files`. NotFound when the folder does not exist,
// FailedPrecondition when it is not a readable directory.
absl::StatusOr<std::vector<CsvFileInfo>> ListCsvFiles(const std::string& folder,
                                                      const std::string& glob,
                                                      int64_t newest_mtime_micros,
                                                      size_t max_files);

// Lowercase hex sha256 of a file's bytes.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

// The first file of `files` (ordered by name) not in `taken`, with its
// sha256, or nullopt. A file whose (name, size, mtime) matches a taken entry
// is skipped without hashing; otherwise it is new unless (name, sha256) was
// taken. `more` is set when later files may be new too.
struct NextCsvFile {
  CsvFileInfo info;
  std::string sha256;
  bool more = false;
};
absl::StatusOr<std::optional<NextCsvFile>> ChooseNextCsvFile(
    const std::string& folder, const std::vector<CsvFileInfo>& files,
    const std::vector<IngestedFile>& taken);

// Parses the file against `schema` and calls on_rows with chunks of at most
// `chunk_rows` rows. Returns the sha256 of the bytes read. Errors are
// "<file> line:column: what" (InvalidArgument), or what on_rows returns.
absl::StatusOr<std::string> ReadCsvFile(
    const std::string& folder, const std::string& file, const Schema& schema,
    const CsvOptions& options, int chunk_rows,
    const std::function<absl::Status(std::vector<Row>& rows)>& on_rows);

}  // namespace mlops::ingestion
