#include "services/training/tracking.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace mlops::training {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

std::string Quoted(std::string_view s) {
  std::string cut(s.substr(0, 64));
  return absl::StrCat("\"", absl::CHexEscape(cut), s.size() > 64 ? "...\"" : "\"");
}

// Checks the form `view` or `view@<version>`.
absl::Status ValidateViewVersion(std::string_view what, std::string_view ref, bool need_version) {
  size_t at = ref.find('@');
  if (at == std::string_view::npos) {
    if (need_version) return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", Quoted(ref), ": expected view@version"));
    return ValidateName(what, ref);
  }
  MLOPS_RETURN_IF_ERROR(ValidateName(what, ref.substr(0, at)));
  int64_t version = 0;
  std::string digits(ref.substr(at + 1));
  if (!absl::SimpleAtoi(digits, &version) || version <= 0 || digits[0] == '+') {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", Quoted(ref), ": bad version"));
  }
  return absl::OkStatus();
}

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= 0xff;  // field separator
  h *= 1099511628211ULL;
  return h;
}

std::string EncodeToken(const std::string& raw) { return absl::WebSafeBase64Escape(raw); }

absl::StatusOr<std::vector<std::string>> DecodeToken(const std::string& token, size_t fields) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, '\x1f');
  if (parts.size() != fields) return absl::InvalidArgumentError("page_token: malformed");
  return parts;
}


}  // namespace

absl::Status ValidateName(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) ok = false;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(what), " ", Quoted(name), ": must match [a-z][a-z0-9_]{0,62}"));
}

absl::Status ValidateKey(std::string_view what, std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": empty key"));
  if (key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", Quoted(key), ": key is ",
                                                   key.size(), " bytes, at most 250 allowed"));
  }
  for (char c : key) {
    if (!IsKeyChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), " ", Quoted(key), ": key must be of [A-Za-z0-9_.:/-]"));
    }
  }
  return absl::OkStatus();
}

namespace {
absl::Status ValidateKeyValues(std::string_view what, const std::map<std::string, std::string>& kv,
                               size_t max_value, size_t max_count) {
  if (kv.size() > max_count) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", kv.size(), " entries, at most ", max_count, " allowed"));
  }
  for (const auto& [k, v] : kv) {
    MLOPS_RETURN_IF_ERROR(ValidateKey(what, k));
    if (v.size() > max_value) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", Quoted(k), ": value is ", v.size(),
                                                     " bytes, at most ", max_value, " allowed"));
    }
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status ValidateParams(const std::map<std::string, std::string>& params) {
  return ValidateKeyValues("param", params, kMaxParamValueBytes, kMaxParamsPerRun);
}

absl::Status ValidateTags(const std::map<std::string, std::string>& tags) {
  return ValidateKeyValues("tag", tags, kMaxTagValueBytes, kMaxTagsPerRun);
}

absl::Status ValidateRunId(std::string_view run_id) {
  if (run_id.size() == 20 && run_id.substr(0, 4) == "run-" && IsLowerHex(run_id.substr(4))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("run_id ", Quoted(run_id), ": expected \"run-\" + 16 lowercase hex"));
}

absl::Status ValidateSha256(std::string_view sha256) {
  if (sha256.size() == 64 && IsLowerHex(sha256)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("sha256 ", Quoted(sha256), ": expected 64 lowercase hex"));
}

absl::Status ValidateArtifactPath(std::string_view path) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("path ", Quoted(path), ": ", why));
  };
  if (path.empty() || path.size() > 512) return bad("must be 1 to 512 bytes");
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '-';
    if (!ok) return bad("must be of [A-Za-z0-9._/-]");
  }
  for (absl::string_view seg : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (seg.empty()) return bad("empty segment (absolute path or \"//\")");
    if (seg == "." || seg == "..") return bad("\".\" and \"..\" segments are not allowed");
  }
  return absl::OkStatus();
}

absl::Status ValidateRunInputs(const RunInputs& in) {
  if (!in.dataset.empty()) MLOPS_RETURN_IF_ERROR(ValidateName("inputs.dataset", in.dataset));
  if (!in.dataset_version_id.empty() && in.dataset_version_id != "latest") {
    if (in.dataset_version_id.size() != 64 || !IsLowerHex(in.dataset_version_id)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "inputs.dataset_version_id ", Quoted(in.dataset_version_id), ": expected 64 lowercase hex"));
    }
  }
  for (const std::string& ref : in.feature_refs) {
    size_t colon = ref.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("inputs.feature_refs ", Quoted(ref), ": expected view[@version]:feature"));
    }
    MLOPS_RETURN_IF_ERROR(
        ValidateViewVersion("inputs.feature_refs", std::string_view(ref).substr(0, colon), false));
    std::string_view feature = std::string_view(ref).substr(colon + 1);
    if (feature != "*") MLOPS_RETURN_IF_ERROR(ValidateName("inputs.feature_refs", feature));
  }
  for (const std::string& v : in.feature_view_versions) {
    MLOPS_RETURN_IF_ERROR(ValidateViewVersion("inputs.feature_view_versions", v, true));
  }
  for (const auto& [view, version] : in.source_dataset_versions) {
    MLOPS_RETURN_IF_ERROR(ValidateName("inputs.source_dataset_versions", view));
    if (version.size() != 64 || !IsLowerHex(version)) {
      return absl::InvalidArgumentError(absl::StrCat("inputs.source_dataset_versions ",
                                                     Quoted(view), ": expected 64 lowercase hex"));
    }
  }
  for (const std::string& c : in.dataset_feature_columns) {
    MLOPS_RETURN_IF_ERROR(ValidateName("inputs.dataset_feature_columns", c));
  }
  if (!in.label_column.empty()) MLOPS_RETURN_IF_ERROR(ValidateName("inputs.label_column", in.label_column));
  if (in.trainer.size() > 256 || in.trainer_version.size() > 1024 || in.code_version.size() > 1024) {
    return absl::InvalidArgumentError("inputs: trainer, trainer_version or code_version too long");
  }
  return absl::OkStatus();
}

absl::Status ValidateMetricPoint(int message, int index, const MetricPoint& p) {
  // The common case (a valid point) formats nothing: this runs per point of
  // every LogMetrics message.
  const bool key_ok = !p.key.empty() && p.key.size() <= kMaxKeyBytes &&
                      std::all_of(p.key.begin(), p.key.end(), IsKeyChar);
  if (key_ok && std::isfinite(p.value) && p.step >= 0 && p.timestamp_micros >= 0) {
    return absl::OkStatus();
  }
  std::string where = absl::StrCat("message ", message, ", points[", index, "]");
  if (absl::Status s = ValidateKey("key", p.key); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
  }
  if (std::isnan(p.value)) {
    return absl::InvalidArgumentError(absl::StrCat(where, " ", Quoted(p.key), ": NaN not allowed"));
  }
  if (std::isinf(p.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " ", Quoted(p.key), ": infinite value not allowed"));
  }
  if (p.step < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " ", Quoted(p.key), ": negative step ", p.step));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, " ", Quoted(p.key), ": negative timestamp_micros"));
}

bool IsTerminal(RunStatus s) {
  return s == RunStatus::kSucceeded || s == RunStatus::kFailed || s == RunStatus::kCancelled ||
         s == RunStatus::kStoppedEarly;
}

absl::StatusOr<std::optional<RunEnd>> DecideEnd(const RunHead& run, RunStatus requested,
                                                int64_t end_time_micros,
                                                const std::string& reason) {
  if (requested == RunStatus::kUnspecified) requested = RunStatus::kSucceeded;
  if (requested != RunStatus::kSucceeded && requested != RunStatus::kFailed &&
      requested != RunStatus::kCancelled) {
    return absl::InvalidArgumentError("status: must be SUCCEEDED, FAILED or CANCELLED");
  }
  if (reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError("failure_reason: above 4096 bytes");
  }
  if (!run.job_id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("run ", run.id, " belongs to job ", run.job_id, "; the service ends it"));
  }
  if (IsTerminal(run.status)) {
    if (run.status == requested) return std::optional<RunEnd>();
    return absl::FailedPreconditionError(absl::StrCat("run ", run.id, " already ended with status ",
                                                      static_cast<int>(run.status)));
  }
  if (end_time_micros < run.start_time_micros) {
    return absl::InvalidArgumentError(absl::StrCat("end_time_micros ", end_time_micros,
                                                   " is before the start ", run.start_time_micros));
  }
  return std::optional<RunEnd>(RunEnd{requested, end_time_micros, reason});
}

absl::StatusOr<std::optional<RunEnd>> DecideCancel(const RunHead& run, int64_t now_micros,
                                                   const std::string& reason) {
  if (reason.size() > kMaxReasonBytes) return absl::InvalidArgumentError("reason: above 4096 bytes");
  if (run.status == RunStatus::kCancelled) return std::optional<RunEnd>();
  if (IsTerminal(run.status)) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run.id, " already ended with status ",
                                                      static_cast<int>(run.status)));
  }
  return std::optional<RunEnd>(
      RunEnd{RunStatus::kCancelled, std::max(now_micros, run.start_time_micros), reason});
}

uint64_t FilterFingerprint(const RunFilter& f) {
  uint64_t h = 1469598103934665603ULL;
  for (const auto& e : f.experiments) h = Fnv1a(h, e);
  h = Fnv1a(h, "|s");
  for (RunStatus s : f.statuses) h = Fnv1a(h, std::to_string(static_cast<int>(s)));
  h = Fnv1a(h, "|p");
  for (const auto& [k, v] : f.params) h = Fnv1a(Fnv1a(h, k), v);
  h = Fnv1a(h, "|m");
  for (const auto& m : f.metrics) {
    h = Fnv1a(Fnv1a(Fnv1a(h, m.key), std::to_string(static_cast<int>(m.op))),
              absl::StrFormat("%a", m.value));
  }
  h = Fnv1a(h, "|t");
  for (const auto& [k, v] : f.tags) h = Fnv1a(Fnv1a(h, k), v);
  h = Fnv1a(h, f.job_id);
  h = Fnv1a(h, std::to_string(f.started_after_micros));
  h = Fnv1a(h, std::to_string(f.started_before_micros));
  h = Fnv1a(h, f.order_metric);
  h = Fnv1a(h, f.ascending ? "asc" : "desc");
  return h;
}

std::string EncodeRunToken(const RunFilter& filter, const RunCursor& c) {
  return EncodeToken(absl::StrCat("r1\x1f", absl::Hex(FilterFingerprint(filter)), "\x1f", c.phase,
                                  "\x1f", absl::StrFormat("%.17g", c.value), "\x1f",
                                  c.start_time_micros, "\x1f", c.run_id));
}

absl::StatusOr<RunCursor> DecodeRunToken(const RunFilter& filter, const std::string& token) {
  MLOPS_ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeToken(token, 6));
  if (parts[0] != "r1") return absl::InvalidArgumentError("page_token: malformed");
  if (parts[1] != absl::StrCat(absl::Hex(FilterFingerprint(filter)))) {
    return absl::InvalidArgumentError("page_token: issued for different filters or order");
  }
  RunCursor c;
  if (!absl::SimpleAtoi(parts[2], &c.phase) || (c.phase != 0 && c.phase != 1) ||
      !absl::SimpleAtod(parts[3], &c.value) || !absl::SimpleAtoi(parts[4], &c.start_time_micros) ||
      !ValidateRunId(parts[5]).ok()) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  c.run_id = parts[5];
  return c;
}

std::string EncodeHistoryToken(const std::string& run_id, const std::string& key,
                               const HistoryCursor& c) {
  uint64_t bind = Fnv1a(Fnv1a(1469598103934665603ULL, run_id), key);
  return EncodeToken(absl::StrCat("h1\x1f", absl::Hex(bind), "\x1f", c.step, "\x1f",
                                  c.timestamp_micros, "\x1f", c.seq));
}

absl::StatusOr<HistoryCursor> DecodeHistoryToken(const std::string& run_id, const std::string& key,
                                                 const std::string& token) {
  MLOPS_ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeToken(token, 5));
  uint64_t bind = Fnv1a(Fnv1a(1469598103934665603ULL, run_id), key);
  if (parts[0] != "h1" || parts[1] != absl::StrCat(absl::Hex(bind))) {
    return absl::InvalidArgumentError("page_token: malformed or for another run or key");
  }
  HistoryCursor c;
  if (!absl::SimpleAtoi(parts[2], &c.step) || !absl::SimpleAtoi(parts[3], &c.timestamp_micros) ||
      !absl::SimpleAtoi(parts[4], &c.seq)) {
    return absl::InvalidArgumentError("page_token: malformed");
  }
  return c;
}

std::string EncodeNameToken(const std::string& name) { return EncodeToken("n1\x1f" + name); }

absl::StatusOr<std::string> DecodeNameToken(const std::string& token) {
  MLOPS_ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeToken(token, 2));
  if (parts[0] != "n1") return absl::InvalidArgumentError("page_token: malformed");
  return parts[1];
}

int ClampPageSize(int requested, int default_size, int max_size) {
  if (requested <= 0) return default_size;
  return requested > max_size ? max_size : requested;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

}  // namespace mlops::training
