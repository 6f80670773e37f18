#pragma once
// Typed CSV against a schema, streamed: feed bytes in chunks of any size (a
// chunk may end inside a field, a quote or a CRLF) and receive complete rows,
// so a large file never sits in memory; only the current record is buffered
// (at most max_record_bytes).
//
// Format (RFC 4180):
//   - records end with LF or CRLF; a line break after the last record is
//     optional; a CR not followed by LF is an error (except at end of input);
//   - fields are separated by the delimiter; a field may be quoted with ",
//     inside which the delimiter, CR and LF are data and "" is one quote; a
//     quote inside an unquoted field, or anything but a delimiter or line
//     break after a closing quote, is an error;
//   - a UTF-8 byte order mark at the very start is skipped;
//   - with has_header (default), the first record must name the schema's
//     columns in the schema's order (or, with header_any_order, in any order,
//     each exactly once); the error says what is missing, extra, or out of
//     order;
//   - every record has exactly one field per column. A blank line is a record
//     with one empty field: NULL in a one-column schema, an error otherwise.
// Values:
//   - an empty unquoted field is NULL; an empty quoted field ("") is the empty
//     string in STRING columns and NULL in the others; an unquoted field equal
//     to a non-empty `null_text` is NULL in nullable columns;
//   - other text is parsed per the column's type (csv_fields.h), then checked
//     like any ingested value (NULL in a non-nullable column, NaN/inf unless
//     allow_non_finite, invalid UTF-8).
// Errors are InvalidArgument "line:column: what", both 1-based, the column
// counting bytes from the start of the physical line to the start of the
// field (its opening quote if quoted), e.g.
//   7:12: column "amount": "12x" is not a double
//   1:8: header column 2 is "amout", expected "amount"
// The reader stops at the first error and returns it from every later call.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/ingestion/value.h"

namespace mlops::ingestion {

struct CsvOptions {
  char delimiter = ',';
  bool has_header = true;
  // Also accept plain integers as microseconds since the epoch in TIMESTAMP
  // columns. Off by default: an integer could be seconds, millis or micros,
  // and guessing wrong silently moves data by decades.
  bool integer_timestamps_are_micros = false;
  size_t max_record_bytes = 16 << 20;
  // With has_header: the header may list the schema's columns in any order
  // (each exactly once); fields are then mapped to columns by name.
  bool header_any_order = false;
  // Non-empty: an unquoted field with exactly this text is NULL in nullable
  // columns (in other columns it is parsed as usual).
  std::string null_text;
};

// Owns a copy of the schema and the partial record. Not thread-safe.
class CsvReader {
 public:
  // `schema` must be valid (ValidateSchema).
  explicit CsvReader(Schema schema, CsvOptions options = {});

  // Parses `bytes`, appending every completed row to `rows`.
  absl::Status Feed(std::string_view bytes, std::vector<Row>* rows);
  // End of input: completes a last record without a line break; errors on an
  // unterminated quoted field or a missing header.
  absl::Status Finish(std::vector<Row>* rows);

  // Data rows produced so far (the header excluded).
  int64_t rows_read() const { return rows_read_; }

 private:
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted, kCarriageReturn };
  struct Field {
    size_t begin = 0;  // in record_
    size_t end = 0;
    int64_t line = 0;
    int64_t column = 0;
    bool quoted = false;
  };

  absl::Status Step(char c, std::vector<Row>* rows);
  // Length of the prefix of `bytes` that is plain field content in the
  // current state (no delimiter, quote or line break): 0 outside a field.
  size_t PlainRun(std::string_view bytes) const;
  absl::Status StartField(bool quoted);
  void Append(char c) { record_.push_back(c); }
  absl::Status EndField();
  absl::Status EndRecord(std::vector<Row>* rows);
  // Checks the header and sets order_.
  absl::Status CheckHeader();
  absl::Status ConvertRecord(Row* row) const;
  absl::Status ErrorAt(int64_t line, int64_t column, std::string_view what) const;
  std::string_view Text(const Field& f) const {
    return std::string_view(record_).substr(f.begin, f.end - f.begin);
  }

  Schema schema_;
  CsvOptions options_;
  State state_ = State::kFieldStart;
  std::string record_;        // bytes of the current record's fields
  std::vector<Field> fields_;  // fields of the current record
  std::vector<int> order_;     // field i holds schema column order_[i]
  int64_t line_ = 1;           // position of the next byte
  int64_t column_ = 1;
  bool at_start_ = true;     // nothing read yet (BOM check)
  size_t bom_matched_ = 0;
  bool header_pending_;
  int64_t rows_read_ = 0;
  absl::Status error_;
};

// Parses a whole CSV text (tests, small inputs).
absl::StatusOr<std::vector<Row>> ParseCsv(const Schema& schema, std::string_view text,
                                          CsvOptions options = {});

}  // namespace mlops::ingestion
