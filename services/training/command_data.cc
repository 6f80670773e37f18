#include "services/training/command_data.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mlops::training {
namespace {

void AppendNumber(std::string* out, float v) {
  if (std::isnan(v)) return;  // NULL = empty field
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
  out->append(buf, static_cast<std::size_t>(n));
}

void AppendJsonString(std::string* out, const std::string& s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string TrainingCsv(const std::string& label_column, const std::vector<std::string>& features,
                        const DenseBlock& block) {
  std::string out = CsvField(label_column);
  for (const std::string& f : features) absl::StrAppend(&out, ",", CsvField(f));
  out.push_back('\n');
  out.reserve(out.size() + block.rows * (block.cols + 1) * 8);
  for (std::size_t r = 0; r < block.rows; ++r) {
    AppendNumber(&out, block.labels[r]);
    const float* row = block.values.data() + r * block.cols;
    for (std::size_t c = 0; c < block.cols; ++c) {
      out.push_back(',');
      AppendNumber(&out, row[c]);
    }
    out.push_back('\n');
  }
  return out;
}

absl::Status WriteWholeFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return absl::InternalError(absl::StrCat("cannot create ", path));
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat("no file ", path));
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  if (size < 0) return absl::InternalError(absl::StrCat("cannot read ", path));
  if (static_cast<std::size_t>(size) > max_bytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": ", size, " bytes, above the limit of ", max_bytes));
  }
  f.seekg(0);
  std::string out(static_cast<std::size_t>(size), '\0');
  f.read(out.data(), size);
  if (!f) return absl::InternalError(absl::StrCat("cannot read ", path));
  return out;
}

std::string ParamsJson(const std::map<std::string, std::string>& params) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : params) {
    if (!first) out.push_back(',');
    first = false;
    AppendJsonString(&out, k);
    out.push_back(':');
    AppendJsonString(&out, v);
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<std::vector<float>> ParsePredictions(const std::string& text, std::size_t rows,
                                                    std::size_t outputs) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("test predictions: ", lines.size(), " lines for ", rows, " test rows"));
  }
  std::vector<float> out;
  out.reserve(rows * outputs);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<absl::string_view> fields = absl::StrSplit(absl::StripSuffix(lines[i], "\r"), ',');
    if (fields.size() != outputs) {
      return absl::InvalidArgumentError(absl::StrCat("test predictions line ", i + 1, ": ", fields.size(),
                                                     " values, expected ", outputs));
    }
    for (absl::string_view f : fields) {
      double v = 0;
      if (!absl::SimpleAtod(f, &v) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat("test predictions line ", i + 1, ": \"", f, "\" is not a finite number"));
      }
      out.push_back(static_cast<float>(v));
    }
  }
  return out;
}

}  // namespace mlops::training
