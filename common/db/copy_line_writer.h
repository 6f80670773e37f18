#pragma once
// CopyLineWriter: COPY ... FROM STDIN of whole text-format lines, for a
// pg_*_store.cc that builds its COPY lines itself (cheaper than pqxx's
// stream_to, which escapes value by value). Includes pqxx: include it from
// Postgres store .cc files only.
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include <string>
#include <vector>

namespace mlops {

// COPY of whole text lines (tab-separated fields, COPY text escaping done by
// the caller, no trailing newline) into `table`. pqxx 6.4 exposes raw lines
// only through the deprecated tablewriter (stream_to's write_raw_line is
// private). Not thread-safe; lives inside one transaction, which runs no other
// statement until Complete().
class CopyLineWriter {
 public:
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  CopyLineWriter(pqxx::transaction_base& tx, const std::string& table,
                 const std::vector<std::string>& columns)
      : writer_(tx, table, columns.begin(), columns.end()) {}
#pragma GCC diagnostic pop
  void Write(const std::string& line) { writer_.write_raw_line(line); }
  void Complete() { writer_.complete(); }

 private:
  pqxx::tablewriter writer_;
};

}  // namespace mlops
