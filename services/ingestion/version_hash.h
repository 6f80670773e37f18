#pragma once
// Content-addressed dataset version ids. A version id is the lowercase hex
// SHA-256 (64 characters) of the canonical encoding below. THE ENCODING IS A
// CONTRACT: stored version ids depend on it. Never change it; a new encoding
// needs a new magic string, and old ids keep theirs.
//
// Canonical encoding, all integers little-endian, str(s) = u32 byte length
// followed by the bytes:
//
//   header
//     "mlops.dataset_version.v1"      24 ASCII bytes, no terminator
//     str(dataset name)
//     str(parent version id)          "" for a dataset's first version
//     u8  mode                        0 = append (version = parent's rows + these rows)
//                                     1 = replace (version = these rows)
//     u32 column count, then per column: str(name), u8 type (DataType number:
//                                     1 int64, 2 double, 3 string, 4 bool, 5 timestamp)
//   rows, in ingestion order, each
//     u32 value count, then per value a tag byte and its payload:
//       0 NULL        nothing
//       1 INT64       i64 (two's complement)
//       2 DOUBLE      u64 IEEE-754 bit pattern; -0.0 is written as +0.0 and
//                     every NaN as 0x7ff8000000000000
//       3 STRING      str(bytes)                  (so NULL and "" differ)
//       4 BOOL        u8 0 or 1
//       5 TIMESTAMP   i64 microseconds since the Unix epoch, UTC
//   trailer
//     u64 row count
//
// The parent id chains versions (like git commits): an append version's id
// commits to its parent's whole content. The dataset name keeps equal first
// versions of different datasets apart; the mode keeps "append these rows"
// and "replace by these rows" apart. Row order matters.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingestion/value.h"

struct evp_md_ctx_st;

namespace mlops::ingestion {

enum class IngestMode { kAppend = 0, kReplace = 1 };

inline constexpr char kVersionHashMagic[] = "mlops.dataset_version.v1";

// Appends the canonical encoding of one value / one row to `out`.
void AppendCanonicalValue(const Value& value, std::string* out);
void AppendCanonicalRow(const Row& row, std::string* out);

// Incremental SHA-256 (OpenSSL EVP) over the encoding above: feed rows as they
// stream in, then Finish(). Owns its digest context and a buffer of at most
// ~64 KB; memory does not grow with the number of rows. Movable, not
// copyable; not thread-safe.
class VersionHasher {
 public:
  // Internal if OpenSSL cannot allocate or initialise a digest.
  static absl::StatusOr<VersionHasher> Create(std::string_view dataset, std::string_view parent_id,
                                              IngestMode mode, const Schema& schema);
  VersionHasher(VersionHasher&&) noexcept;
  VersionHasher& operator=(VersionHasher&&) noexcept;
  ~VersionHasher();

  void AddRow(const Row& row);
  void AddRows(const std::vector<Row>& rows);
  // The same as AddRow for each of `rows` rows whose canonical encoding
  // (AppendCanonicalRow) is `encoded`: lets one encoding feed several hashers.
  void AddEncodedRows(std::string_view encoded, int64_t rows);
  int64_t row_count() const { return row_count_; }

  // The version id: 64 lowercase hex characters. Rows added after the first
  // call are ignored; later calls return the same id. Internal on an OpenSSL
  // failure.
  absl::StatusOr<std::string> Finish();

 private:
  VersionHasher();
  absl::Status Flush();

  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
  std::string buffer_;
  int64_t row_count_ = 0;
  absl::Status error_;
  std::optional<std::string> result_;
};

}  // namespace mlops::ingestion
