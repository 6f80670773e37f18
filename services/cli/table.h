#pragma once
// A plain-text table with aligned columns, for human-readable CLI output.
// Thread-compatible.

#include <ostream>
#include <string>
#include <vector>

namespace mlops::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to their widest cell (UTF-8 aware), two spaces apart.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Characters on screen of a UTF-8 string (code points, not bytes).
size_t DisplayWidth(const std::string& s);

// A JSON string literal (quotes and escapes included).
std::string JsonString(const std::string& s);

}  // namespace mlops::cli
