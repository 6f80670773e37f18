// MonitoringServiceImpl: LogPredictions (records into the windows and the raw log).
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/auth/token.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "google/protobuf/arena.h"
#include "services/ingestion/names.h"
#include "services/monitoring/monitoring_service.h"
#include "services/monitoring/proto_convert.h"

namespace mlops::monitoring {
namespace {

constexpr int kMaxRecordsPerMessage = 10'000;
constexpr int64_t kMaxFutureMicros = 5 * 60 * kSecondMicros;

// Per-reason rejection counts of one message.
class Rejections {
 public:
  void Add(v1::RejectionReason reason, const std::string& example, int64_t n = 1) {
    auto [it, inserted] = counts_.try_emplace(reason, 0, example);
    it->second.first += n;
  }
  int64_t Total() const {
    int64_t t = 0;
    for (const auto& [r, c] : counts_) t += c.first;
    return t;
  }
  void MergeInto(v1::LogPredictionsResponse* resp) const {
    for (const auto& [reason, c] : counts_) {
      v1::RejectionCount* rc = nullptr;
      for (v1::RejectionCount& existing : *resp->mutable_rejections()) {
        if (existing.reason() == reason) rc = &existing;
      }
      if (rc == nullptr) {
        rc = resp->add_rejections();
        rc->set_reason(reason);
        rc->set_example(c.second);
      }
      rc->set_count(rc->count() + c.first);
    }
    resp->set_rejected(resp->rejected() + Total());
  }
  const std::map<v1::RejectionReason, std::pair<int64_t, std::string>>& counts() const {
    return counts_;
  }

 private:
  std::map<v1::RejectionReason, std::pair<int64_t, std::string>> counts_;
};


}  // namespace

// ---------------------------------------------------------------------------
// LogPredictions

absl::Status MonitoringServiceImpl::LogOne(const v1::LogPredictionsRequest& req,
                                           v1::LogPredictionsResponse* resp,
                                           LogProgress* progress) {
  MLOPS_RETURN_IF_ERROR(ValidateModelVersion(req.model(), req.version()));
  if (req.records_size() < 1 || req.records_size() > kMaxRecordsPerMessage) {
    return absl::InvalidArgumentError(
        absl::StrCat("records: ", req.records_size(), " records; 1 .. 10,000 allowed"));
  }
  std::set<std::string> names;
  for (int i = 0; i < req.feature_names_size(); ++i) {
    MLOPS_RETURN_IF_ERROR(
        ingestion::ValidateName(absl::StrCat("feature_names[", i, "]"), req.feature_names(i)));
    if (!names.insert(req.feature_names(i)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature_names[", i, "]: duplicate \"", req.feature_names(i), "\""));
    }
  }
  Rejections rejections;
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedReference> ref,
                         Reference(req.model(), req.version()));
  if (ref == nullptr) {
    // Without a registry check, a version is known once it has a reference
    // (documented choice: counted and rejected, not buffered).
    rejections.Add(v1::REJECTION_REASON_UNKNOWN_MODEL_VERSION,
                   absl::StrCat("model ", req.model(), "@", req.version(), " unknown"),
                   req.records_size());
    rejections.MergeInto(resp);
    counters_->Rejected("unknown_model_version", req.records_size());
    return absl::OkStatus();
  }
  MLOPS_ASSIGN_OR_RETURN(v1::MonitoringConfig stored_config, Config(req.model()));
  const v1::MonitoringConfig config = EffectiveConfig(stored_config);
  const int64_t now = Now();
  const std::vector<std::string> feature_names(req.feature_names().begin(),
                                               req.feature_names().end());
  std::vector<stats::DataType> types;
  for (const std::string& name : feature_names) {
    const stats::ColumnProfile* c = ref->data.profile.Find(name);
    types.push_back(c == nullptr ? stats::DataType::kUnspecified : c->type);
  }
  std::vector<LoggedRecord> in_window;
  in_window.reserve(static_cast<size_t>(req.records_size()));
  PredictionLogBatch batch(req.model(), req.version(), req.endpoint(),
                           static_cast<int32_t>(req.variant()));
  batch.Reserve(static_cast<size_t>(req.records_size()),
                static_cast<size_t>(req.records_size()) *
                    (static_cast<size_t>(req.feature_names_size()) * 10 + 4));
  int64_t late = 0;
  for (int i = 0; i < req.records_size(); ++i) {
    const v1::PredictionRecord& r = req.records(i);
    if (r.request_id().empty() || r.request_id().size() > kMaxRequestIdLength) {
      rejections.Add(
          v1::REJECTION_REASON_BAD_REQUEST_ID,
          absl::StrCat("record ", i, ": request id of ", r.request_id().size(), " chars"));
      continue;
    }
    if (r.timestamp_micros() > now + kMaxFutureMicros ||
        r.timestamp_micros() < now - config.raw_retention_micros()) {
      rejections.Add(v1::REJECTION_REASON_BAD_TIMESTAMP,
                     absl::StrCat("record ", i, ": timestamp ", r.timestamp_micros()));
      continue;
    }
    if (r.features().values_size() != req.feature_names_size()) {
      rejections.Add(v1::REJECTION_REASON_SCHEMA_MISMATCH,
                     absl::StrCat("record ", i, ": ", r.features().values_size(), " values, ",
                                  req.feature_names_size(), " names"));
      continue;
    }
    LoggedRecord rec;
    rec.timestamp_micros = r.timestamp_micros();
    rec.latency_micros = r.latency_micros();
    rec.error = !r.error_code().empty();
    if (r.has_prediction()) rec.score = r.prediction().score();
    rec.features.reserve(static_cast<size_t>(r.features().values_size()));
    bool ok = true;
    for (int f = 0; f < r.features().values_size() && ok; ++f) {
      absl::StatusOr<LoggedValue> v =
          LoggedValueFromProto(r.features().values(f), types[static_cast<size_t>(f)]);
      if (!v.ok()) {
        rejections.Add(v1::REJECTION_REASON_SCHEMA_MISMATCH,
                       absl::StrCat("record ", i, ", feature \"", feature_names[f],
                                    "\": ", v.status().message()));
        ok = false;
      } else {
        rec.features.push_back(*std::move(v));
      }
    }
    if (!ok) continue;
    const int64_t w = config.window_micros();
    const int64_t window_end = (r.timestamp_micros() / w + 1) * w;
    if (window_end + config.allowed_lateness_micros() < now) {
      ++late;
    } else {
      in_window.push_back(std::move(rec));
    }
    r.features().AppendToString(batch.features_buffer());
    std::optional<double> score;
    if (r.has_prediction()) score = r.prediction().score();
    batch.Add(r.request_id(), r.timestamp_micros(), score,
              r.has_prediction() ? std::string_view(r.prediction().predicted_label())
                                 : std::string_view(),
              r.latency_micros(), r.error_code());
  }
  const WindowStore::AddResult added = windows_->Add(
      req.model(), req.version(), config.window_micros(), feature_names, in_window, ref->binning);
  if (pending_.size() > 0) {
    int64_t joined_late = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      joined_late += pending_.Resolve(std::string(batch.request_id(i)), req.model());
    }
    counters_->Labels("joined_late", joined_late);
  }
  int64_t accepted = static_cast<int64_t>(batch.size());
  const PredictionLogWriter::Queued queued = writer_->Enqueue(std::move(batch));
  if (queued.dropped > 0) {
    LogWarn("prediction_log_queue_full",
            {{"model", req.model()}, {"dropped", std::to_string(queued.dropped)}});
    // Not stored, so not accepted (the proto has no reason for it).
    rejections.Add(v1::REJECTION_REASON_UNSPECIFIED,
                   "prediction log queue full: dropped from Postgres (counted in windows)",
                   queued.dropped);
    accepted -= queued.dropped;
  }
  if (queued.last_seq > 0) {
    if (progress->first_seq == 0) progress->first_seq = queued.last_seq - accepted + 1;
    progress->last_seq = queued.last_seq;
  }
  resp->set_accepted(resp->accepted() + accepted);
  resp->set_late(resp->late() + late + added.late);
  rejections.MergeInto(resp);
  counters_->Accepted(req.model(), accepted);
  for (const auto& [reason, c] : rejections.counts()) {
    counters_->Rejected(v1::RejectionReason_Name(reason), c.first);
  }
  return absl::OkStatus();
}

grpc::Status MonitoringServiceImpl::LogPredictions(
    grpc::ServerContext* ctx, grpc::ServerReader<v1::LogPredictionsRequest>* reader,
    v1::LogPredictionsResponse* resp) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kEditor);
  if (!who.ok()) return Reply("LogPredictions", who.status());
  LogProgress progress;
  // Bounded by the client's stream: each Read consumes one message. Each
  // message's rows are queued for the writer at once, so the write of
  // earlier messages overlaps parsing the next ones. Each message is parsed
  // on an arena of its own: its ~12 objects per record (the Row, one Value
  // per feature, strings) were as many mallocs and frees; the arena cut the
  // ingest benchmark's process CPU by about a third.
  for (;;) {
    google::protobuf::ArenaOptions options;
    options.start_block_size = size_t{64} << 10;
    options.max_block_size = size_t{1} << 20;
    google::protobuf::Arena arena(options);
    auto* req = google::protobuf::Arena::CreateMessage<v1::LogPredictionsRequest>(&arena);
    if (!reader->Read(req)) break;
    absl::Status s = LogOne(*req, resp, &progress);
    if (!s.ok()) return Reply("LogPredictions", s);
  }
  if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
  // Acknowledge only durable rows: the answer waits for their COPY.
  if (progress.last_seq > 0) {
    absl::Status s = writer_->WaitDurable(progress.first_seq - 1, progress.last_seq);
    if (!s.ok()) return Reply("LogPredictions", s);
  }
  return grpc::Status::OK;
}

}  // namespace mlops::monitoring
