#include "services/registry/audit_copy_line.h"

#include <charconv>

namespace mlops::registry {
namespace {

// Unescapes one field of COPY's text format into `out` (COPY TO emits only
// \\b \\f \\n \\r \\t \\v and \\\\ as escapes; \\N alone is NULL).
bool Unescape(std::string_view field, std::string* out) {
  if (field == "\\N") return false;
  out->clear();
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c == '\\' && i + 1 < field.size()) {
      switch (field[++i]) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'v': c = '\v'; break;
        default: c = field[i];
      }
    }
    out->push_back(c);
  }
  return true;
}

template <class T>
bool Number(std::string_view field, T* out) {
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

bool ParseAuditCopyLine(std::string_view line, AuditEntry* out) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::string_view fields[14];
  size_t n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (n == 14) return false;
      fields[n++] = line.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != 14) return false;
  return Number(fields[0], &out->sequence) && Number(fields[1], &out->at_micros) &&
         Unescape(fields[2], &out->principal) && Number(fields[3], &out->event_type) &&
         Unescape(fields[4], &out->model) && Number(fields[5], &out->version) &&
         Unescape(fields[6], &out->endpoint) && Unescape(fields[7], &out->request_id) &&
         Unescape(fields[8], &out->before_json) && Unescape(fields[9], &out->after_json) &&
         Unescape(fields[10], &out->reason) && Unescape(fields[11], &out->details_json) &&
         Unescape(fields[12], &out->prev_hash) && Unescape(fields[13], &out->entry_hash);
}

}  // namespace mlops::registry
