#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/training/run_log_store.h"

namespace mlops::training {
namespace {

constexpr char kReadLines[] =
    "SELECT id, stream, text, at_micros FROM run_log_line WHERE run_id = $1 AND id > $2 "
    "ORDER BY id LIMIT $3";

// The length of the valid UTF-8 sequence starting at s[i], or 0.
std::size_t Utf8Length(const std::string& s, std::size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned min = 0;
  if (b >= 0x01 && b < 0x80) return 1;
  if (b >= 0xC2 && b < 0xE0) n = 2, min = 0x80;
  else if (b >= 0xE0 && b < 0xF0) n = 3, min = 0x800;
  else if (b >= 0xF0 && b < 0xF5) n = 4, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  unsigned cp = b & (0xFF >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

std::string SanitizeLogText(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = Utf8Length(text, i);
    if (n == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(text, i, n);
      i += n;
    }
  }
  return out;
}

absl::Status PgRunLogStore::Append(const std::string& run_id, const std::vector<RunLogLine>& lines) {
  if (lines.empty()) return absl::OkStatus();
  absl::Status s = pool_->WithTransaction({"kInsertRunLog"}, [&](pqxx::transaction_base& tx) {
    // One statement for the batch; every value quoted by the connection.
    std::string sql = "INSERT INTO run_log_line (run_id, stream, text, at_micros) VALUES ";
    const std::string run = tx.quote(run_id);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      absl::StrAppend(&sql, i == 0 ? "" : ",", "(", run, ",", tx.quote(lines[i].stream), ",",
                      tx.quote(SanitizeLogText(lines[i].text)), ",", lines[i].at_micros, ")");
    }
    tx.exec(sql);
  });
  if (absl::IsFailedPrecondition(s)) {  // the run's foreign key
    return absl::NotFoundError(absl::StrCat("run ", run_id, ": ", s.message()));
  }
  return s;
}

absl::StatusOr<std::vector<RunLogLine>> PgRunLogStore::Read(const std::string& run_id, int64_t after_id,
                                                           int limit) {
  return pool_->WithTransaction({"kReadRunLog", PgIsolation::kReadCommitted, true},
                                [&](pqxx::transaction_base& tx) {
                                  std::vector<RunLogLine> out;
                                  for (const pqxx::row& r : tx.exec_params(kReadLines, run_id, after_id, limit)) {
                                    out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(),
                                                   r[2].as<std::string>(), r[3].as<int64_t>()});
                                  }
                                  return out;
                                });
}

}  // namespace mlops::training
