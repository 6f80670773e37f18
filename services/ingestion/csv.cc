#include "services/ingestion/csv.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/ingestion/csv_fields.h"
#include "services/ingestion/schema_validation.h"
#include "services/ingestion/utf8.h"

namespace mlops::ingestion {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

std::string Quoted(std::string_view text) { return ValueToString(Value(std::string(text)), 100); }

std::string CharShown(char c) {
  const std::string shown = Quoted(std::string_view(&c, 1));
  return absl::StrCat("'", shown.substr(1, shown.size() - 2), "'");
}

// Names of `names` that are not in `other`, joined by commas.
std::string Missing(const std::vector<std::string>& names, const std::vector<std::string>& other) {
  const absl::flat_hash_set<std::string> present(other.begin(), other.end());
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (!present.contains(n)) out.push_back(Quoted(n));
  }
  return absl::StrJoin(out, ", ");
}

}  // namespace

CsvReader::CsvReader(Schema schema, CsvOptions options)
    : schema_(std::move(schema)), options_(std::move(options)), header_pending_(options_.has_header) {
  for (size_t i = 0; i < schema_.columns.size(); ++i) order_.push_back(static_cast<int>(i));
}

absl::Status CsvReader::ErrorAt(int64_t line, int64_t column, std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(line, ":", column, ": ", std::string(what)));
}

size_t CsvReader::PlainRun(std::string_view bytes) const {
  const char delimiter = options_.delimiter;
  size_t n = 0;
  if (state_ == State::kUnquoted) {
    while (n < bytes.size()) {
      const char c = bytes[n];
      if (c == delimiter || c == '\n' || c == '\r' || c == '"') break;
      ++n;
    }
  } else if (state_ == State::kQuoted) {
    while (n < bytes.size() && bytes[n] != '"' && bytes[n] != '\n') ++n;
  }
  return n;
}

absl::Status CsvReader::Feed(std::string_view bytes, std::vector<Row>* rows) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    // Fast path: a run of ordinary bytes inside a field goes in at once.
    if (const size_t run = at_start_ ? 0 : PlainRun(bytes); run > 0) {
      record_.append(bytes.data(), run);
      column_ += static_cast<int64_t>(run);
      bytes.remove_prefix(run);
      if (record_.size() > options_.max_record_bytes) {
        error_ = ErrorAt(fields_.front().line, fields_.front().column,
                         absl::StrCat("record longer than ", options_.max_record_bytes, " bytes"));
        return error_;
      }
      continue;
    }
    const char c = bytes.front();
    bytes.remove_prefix(1);
    if (at_start_) {
      if (c == kBom[bom_matched_]) {
        if (++bom_matched_ == 3) at_start_ = false;  // skip the BOM
        continue;
      }
      at_start_ = false;
      // Not a BOM after all: replay what was held back.
      for (size_t i = 0; i < bom_matched_ && error_.ok(); ++i) error_ = Step(kBom[i], rows);
      if (!error_.ok()) return error_;
    }
    error_ = Step(c, rows);
    if (!error_.ok()) return error_;
  }
  return absl::OkStatus();
}

absl::Status CsvReader::Step(char c, std::vector<Row>* rows) {
  const char delimiter = options_.delimiter;
  absl::Status s;
  switch (state_) {
    case State::kFieldStart:
      s = StartField(c == '"');
      if (!s.ok()) return s;
      if (c == '"') {
        state_ = State::kQuoted;
      } else if (c == delimiter) {
        s = EndField();
      } else if (c == '\n') {
        s = EndRecord(rows);
      } else if (c == '\r') {
        state_ = State::kCarriageReturn;
      } else {
        Append(c);
        state_ = State::kUnquoted;
      }
      break;
    case State::kUnquoted:
      if (c == delimiter) {
        s = EndField();
        state_ = State::kFieldStart;
      } else if (c == '\n') {
        s = EndRecord(rows);
        state_ = State::kFieldStart;
      } else if (c == '\r') {
        state_ = State::kCarriageReturn;
      } else if (c == '"') {
        return ErrorAt(line_, column_, "quote inside an unquoted field (quote the whole field)");
      } else {
        Append(c);
      }
      break;
    case State::kQuoted:
      if (c == '"') {
        state_ = State::kQuoteInQuoted;
      } else {
        Append(c);
      }
      break;
    case State::kQuoteInQuoted:
      if (c == '"') {
        Append('"');
        state_ = State::kQuoted;
      } else if (c == delimiter) {
        s = EndField();
        state_ = State::kFieldStart;
      } else if (c == '\n') {
        s = EndRecord(rows);
        state_ = State::kFieldStart;
      } else if (c == '\r') {
        state_ = State::kCarriageReturn;
      } else {
        return ErrorAt(line_, column_,
                       absl::StrCat("unexpected character ", CharShown(c), " after a closing quote"));
      }
      break;
    case State::kCarriageReturn:
      if (c != '\n') {
        return ErrorAt(line_, column_ - 1, "carriage return not followed by a line feed");
      }
      s = EndRecord(rows);
      state_ = State::kFieldStart;
      break;
  }
  if (!s.ok()) return s;
  if (record_.size() > options_.max_record_bytes) {
    return ErrorAt(fields_.front().line, fields_.front().column,
                   absl::StrCat("record longer than ", options_.max_record_bytes, " bytes"));
  }
  if (c == '\n') {
    ++line_;
    column_ = 1;
  } else {
    ++column_;
  }
  return absl::OkStatus();
}

absl::Status CsvReader::StartField(bool quoted) {
  // Data records stop at one field too many; a header may be longer (its
  // error lists the extra names).
  const size_t limit = header_pending_ ? kMaxColumns + 1 : schema_.columns.size();
  if (fields_.size() >= limit) {
    return ErrorAt(line_, column_, absl::StrCat("record has more than ", schema_.columns.size(),
                                                " fields (one per schema column)"));
  }
  Field f;
  f.begin = f.end = record_.size();
  f.line = line_;
  f.column = column_;
  f.quoted = quoted;
  fields_.push_back(f);
  return absl::OkStatus();
}

absl::Status CsvReader::EndField() {
  fields_.back().end = record_.size();
  return absl::OkStatus();
}

absl::Status CsvReader::EndRecord(std::vector<Row>* rows) {
  if (absl::Status s = EndField(); !s.ok()) return s;
  if (header_pending_) {
    if (absl::Status s = CheckHeader(); !s.ok()) return s;
    header_pending_ = false;
  } else {
    Row row;
    if (absl::Status s = ConvertRecord(&row); !s.ok()) return s;
    rows->push_back(std::move(row));
    ++rows_read_;
  }
  record_.clear();
  fields_.clear();
  return absl::OkStatus();
}

absl::Status CsvReader::CheckHeader() {
  std::vector<std::string> got, want;
  for (const Field& f : fields_) {
    const std::string_view text = Text(f);
    if (!IsValidUtf8(text)) return ErrorAt(f.line, f.column, "header is not valid UTF-8");
    got.emplace_back(text);
  }
  for (const Column& c : schema_.columns) want.push_back(c.name);
  if (got == want) return absl::OkStatus();
  std::string detail;
  const std::string missing = Missing(want, got);
  const std::string unexpected = Missing(got, want);
  if (!missing.empty()) absl::StrAppend(&detail, "; missing: ", missing);
  if (!unexpected.empty()) absl::StrAppend(&detail, "; unexpected: ", unexpected);
  if (options_.header_any_order && got.size() == want.size() && missing.empty() &&
      unexpected.empty()) {
    // A permutation (the same number of names, none missing: no duplicates).
    for (size_t i = 0; i < got.size(); ++i) order_[i] = schema_.IndexOf(got[i]);
    return absl::OkStatus();
  }
  if (options_.header_any_order) {
    const Field& at = fields_.front();
    if (missing.empty() && unexpected.empty()) {
      absl::StrAppend(&detail, "; a column is listed twice");
    }
    return ErrorAt(at.line, at.column,
                   absl::StrCat("header has ", got.size(), " columns, schema has ", want.size(),
                                detail));
  }
  if (missing.empty() && unexpected.empty() && got.size() == want.size()) {
    absl::StrAppend(&detail, "; same columns in another order, expected ", absl::StrJoin(want, ","));
  }
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != want[i]) {
      return ErrorAt(fields_[i].line, fields_[i].column,
                     absl::StrCat("header column ", i + 1, " is ", Quoted(got[i]), ", expected ",
                                  Quoted(want[i]), detail));
    }
  }
  const Field& at = got.size() < want.size() ? fields_.back() : fields_[want.size()];
  return ErrorAt(at.line, at.column, absl::StrCat("header has ", got.size(), " columns, schema has ",
                                                  want.size(), detail));
}

absl::Status CsvReader::ConvertRecord(Row* row) const {
  const size_t n = schema_.columns.size();
  const Field& first = fields_.front();
  if (fields_.size() != n) {
    if (fields_.size() == 1 && first.begin == first.end && !first.quoted) {
      return ErrorAt(first.line, first.column, absl::StrCat("empty line; schema has ", n, " columns"));
    }
    return ErrorAt(first.line, first.column,
                   absl::StrCat("record has ", fields_.size(), " fields, schema has ", n, " columns"));
  }
  row->assign(n, Value());
  for (size_t i = 0; i < n; ++i) {
    const Column& column = schema_.columns[order_[i]];
    const Field& f = fields_[i];
    const std::string_view text = Text(f);
    Value value;
    if (!f.quoted && column.nullable && !options_.null_text.empty() &&
        text == options_.null_text) {
      // NULL.
    } else if (!text.empty()) {
      absl::StatusOr<Value> parsed =
          ParseTypedField(column.type, text, options_.integer_timestamps_are_micros);
      if (!parsed.ok()) {
        return ErrorAt(f.line, f.column,
                       absl::StrCat("column \"", column.name, "\": ", parsed.status().message()));
      }
      value = *std::move(parsed);
    } else if (f.quoted && column.type == DataType::kString) {
      value = std::string();
    }
    if (absl::Status s = ValidateValue(column, value); !s.ok()) {
      return ErrorAt(f.line, f.column, std::string(s.message()));
    }
    (*row)[order_[i]] = std::move(value);
  }
  return absl::OkStatus();
}

absl::Status CsvReader::Finish(std::vector<Row>* rows) {
  if (!error_.ok()) return error_;
  if (at_start_ && bom_matched_ > 0) {
    at_start_ = false;
    for (size_t i = 0; i < bom_matched_ && error_.ok(); ++i) error_ = Step(kBom[i], rows);
    if (!error_.ok()) return error_;
  }
  switch (state_) {
    case State::kQuoted:
      error_ = ErrorAt(fields_.back().line, fields_.back().column,
                       "unterminated quoted field at end of input");
      return error_;
    case State::kFieldStart:
      if (fields_.empty()) break;  // the input ended with a line break
      error_ = StartField(false);  // a trailing delimiter: one more, empty field
      if (error_.ok()) error_ = EndRecord(rows);
      break;
    case State::kUnquoted:
    case State::kQuoteInQuoted:
    case State::kCarriageReturn:
      error_ = EndRecord(rows);
      break;
  }
  state_ = State::kFieldStart;
  if (error_.ok() && header_pending_) error_ = ErrorAt(line_, column_, "empty input; expected a header");
  return error_;
}

absl::StatusOr<std::vector<Row>> ParseCsv(const Schema& schema, std::string_view text,
                                          CsvOptions options) {
  CsvReader reader(schema, options);
  std::vector<Row> rows;
  if (absl::Status s = reader.Feed(text, &rows); !s.ok()) return s;
  if (absl::Status s = reader.Finish(&rows); !s.ok()) return s;
  return rows;
}

}  // namespace mlops::ingestion
