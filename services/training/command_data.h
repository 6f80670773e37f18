#pragma once
// The files a command trainer reads and writes, as pure functions over the
// domain's blocks: the splits as CSV (RFC 4180, UTF-8; header = the label
// column then the feature columns in model input order; one row per line,
// "\n" line ends; numbers in shortest round-trip form ("%.9g" of the float);
// a missing value (NaN) is an empty field), the hyperparameters as a JSON
// object of strings, and the optional test predictions the program writes
// (one line per test row; multi-class: comma-separated probabilities).
// No state.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/training/training_set.h"

namespace mlops::training {

// One CSV field, quoted when it holds a comma, quote, CR or LF.
std::string CsvField(const std::string& text);

// The whole CSV text of a block.
std::string TrainingCsv(const std::string& label_column, const std::vector<std::string>& features,
                        const DenseBlock& block);

// Writes `content` to `path` (created or truncated). Internal on I/O errors,
// naming the path.
absl::Status WriteWholeFile(const std::string& path, const std::string& content);

// Reads a whole file; NotFound if it does not exist; `max_bytes` bounds it
// (FailedPrecondition beyond).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, std::size_t max_bytes);

// {"eta":"0.1","max_depth":"6"} (keys sorted; JSON string escapes).
std::string ParamsJson(const std::map<std::string, std::string>& params);

// Parses test predictions: `rows` lines of `outputs` numbers each (a last
// empty line is fine). InvalidArgument naming the line otherwise.
absl::StatusOr<std::vector<float>> ParsePredictions(const std::string& text, std::size_t rows,
                                                    std::size_t outputs);

}  // namespace mlops::training
