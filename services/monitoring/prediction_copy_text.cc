#include "services/monitoring/prediction_copy_text.h"

#include <charconv>
#include <cstring>

namespace mlops::monitoring {

void AppendCopyText(std::string_view text, std::string* out) {
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* escaped = nullptr;
    switch (c) {
      case '\\':
        escaped = "\\\\";
        break;
      case '\n':
        escaped = "\\n";
        break;
      case '\r':
        escaped = "\\r";
        break;
      case '\t':
        escaped = "\\t";
        break;
      default:
        continue;
    }
    out->append(text.data() + plain, i - plain);
    out->append(escaped, 2);
    plain = i + 1;
  }
  out->append(text.data() + plain, text.size() - plain);
}

void AppendCopyInt(int64_t v, std::string* out) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendPredictionRequestCopyLines(const PredictionLogBatch& batch, int64_t batch_id,
                                      std::string* out) {
  std::string id_column = "\t";
  AppendCopyInt(batch_id, &id_column);
  id_column += '\t';
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendCopyText(batch.request_id(i), out);
    out->append(id_column);
    AppendCopyInt(static_cast<int64_t>(i), out);
    out->append(batch.predicted_label(i).empty() ? "\tf\n" : "\tt\n");
  }
}

}  // namespace mlops::monitoring
