#include "services/monitoring/prediction_copy_text.h"

#include <charconv>
#include <cmath>
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

void AppendCopyBytea(std::string_view bytes, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t at = out->size();
  out->resize(at + 3 + 2 * bytes.size());
  char* p = out->data() + at;
  *p++ = '\\';
  *p++ = '\\';
  *p++ = 'x';
  for (unsigned char b : bytes) {
    *p++ = kHex[b >> 4];
    *p++ = kHex[b & 15];
  }
}

void AppendCopyInt(int64_t v, std::string* out) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendCopyDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendPredictionCopyLines(const PredictionLogBatch& batch, size_t begin, size_t end,
                               std::string* out) {
  // The columns shared by every row of the batch, escaped once.
  std::string model;
  AppendCopyText(batch.model(), &model);
  model += '\t';
  AppendCopyInt(batch.version(), &model);
  model += '\t';
  AppendCopyText(batch.endpoint(), &model);
  model += '\t';
  AppendCopyInt(batch.variant(), &model);
  model += '\t';
  for (size_t i = begin; i < end && i < batch.size(); ++i) {
    out->append(model);
    AppendCopyText(batch.request_id(i), out);
    *out += '\t';
    AppendCopyInt(batch.timestamp_micros(i), out);
    *out += '\t';
    AppendCopyBytea(batch.features(i), out);
    *out += '\t';
    const std::optional<double> score = batch.score(i);
    if (score.has_value()) {
      AppendCopyDouble(*score, out);
    } else {
      out->append("\\N");
    }
    *out += '\t';
    AppendCopyText(batch.predicted_label(i), out);
    *out += '\t';
    AppendCopyInt(batch.latency_micros(i), out);
    *out += '\t';
    AppendCopyText(batch.error_code(i), out);
    *out += '\n';
  }
}

}  // namespace mlops::monitoring
