#include "services/gateway/predictor.h"

#include <algorithm>

#include <time.h>

#include <cmath>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/gateway/row_output.h"
#include "services/gateway/feature_matrix.h"

namespace mlops::gateway {

namespace iv1 = ::mlops::inference::v1;
namespace fv1 = ::mlops::features::v1;
namespace mv1 = ::mlops::monitoring::v1;

// Everything one call carries between its steps (shared with its shadow task).
struct Predictor::Call {
  const iv1::PredictRequest* request = nullptr;  // the caller's, or `owned` once shadowed
  std::unique_ptr<iv1::PredictRequest> owned;
  std::shared_ptr<const Serving> serving;
  std::string request_id;
  std::chrono::system_clock::time_point deadline;
  std::chrono::steady_clock::time_point started;
  std::map<std::string, int> inline_index;
  std::vector<std::string> row_ids;
  std::vector<std::string> keys;  // entity key text per row ("" = none)
  std::vector<RowRoute> routes;
  fv1::GetOnlineFeaturesResponse fetched_response;
  FetchedFeatures fetched;
  iv1::PredictResponse response;
  std::vector<int> primary_rows, candidate_rows, shadow_rows;
  std::vector<common::v1::Row> primary_inputs;  // parallel to primary_rows
  std::vector<common::v1::Row> candidate_inputs;
};

namespace {

std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrFormat("req-%016x", rng());
}

bool Agree(const ModelSignature& s, const iv1::RowPrediction& a, const iv1::RowPrediction& b,
           double tolerance) {
  if (s.output == OutputKind::kRegression) return std::fabs(a.score() - b.score()) <= tolerance;
  return a.predicted_label() == b.predicted_label();
}

int64_t MicrosSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

Predictor::Predictor(EndpointManager* endpoints, const PeerChannel* features,
                     PredictionLogger* logger, GatewayMetrics* metrics, PredictorOptions options)
    : endpoints_(endpoints),
      features_(features),
      logger_(logger),
      metrics_(metrics),
      options_(std::move(options)),
      shadows_(options_.shadow_queue) {
  if (features_ != nullptr) feature_stub_ = fv1::FeatureService::NewStub(features_->channel());
}

absl::StatusOr<iv1::PredictResponse> Predictor::Predict(
    const iv1::PredictRequest& request, std::chrono::system_clock::time_point grpc_deadline) {
  absl::StatusOr<iv1::PredictResponse> out = PredictRows(request, grpc_deadline);
  if (!out.ok() && metrics_ != nullptr) {
    // Endpoint names from clients are unbounded: only known endpoints get a label.
    const bool known = endpoints_->Find(request.endpoint()) != nullptr;
    metrics_->Predictions(known ? request.endpoint() : "unknown", 0, "none",
                          absl::StatusCodeToString(out.status().code()), request.rows_size());
  }
  return out;
}

absl::StatusOr<iv1::PredictResponse> Predictor::PredictRows(
    const iv1::PredictRequest& request, std::chrono::system_clock::time_point grpc_deadline) {
  auto call = std::make_shared<Call>();
  Call& c = *call;
  c.started = std::chrono::steady_clock::now();
  if (request.rows_size() == 0) return absl::InvalidArgumentError("rows: empty request");
  if (request.rows_size() > options_.max_rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("rows: ", request.rows_size(), " rows, the limit is ", options_.max_rows));
  }
  absl::StatusOr<std::shared_ptr<const Serving>> serving = endpoints_->Resolve(request.endpoint());
  if (absl::IsNotFound(serving.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", request.endpoint(), "\": unknown endpoint"));
  }
  if (!serving.ok()) return serving.status();
  c.serving = *serving;
  c.request = &request;
  const int64_t budget = request.options().timeout_micros() > 0 ? request.options().timeout_micros()
                                                                : options_.default_timeout_micros;
  c.deadline = std::min(grpc_deadline,
                        std::chrono::system_clock::now() + std::chrono::microseconds(budget));
  c.request_id = request.request_id().empty() ? NewRequestId() : request.request_id();
  const ModelSignature& sig = c.serving->primary->info.signature;
  MLOPS_ASSIGN_OR_RETURN(c.inline_index, IndexInlineFeatures(sig, request));

  const int n = request.rows_size();
  const bool rollout = c.serving->rollout && c.serving->candidate != nullptr;
  c.row_ids.resize(n);
  c.keys.resize(n);
  c.routes.resize(n);
  for (int r = 0; r < n; ++r) {
    const iv1::PredictRow& row = request.rows(r);
    c.row_ids[r] = !row.request_id().empty() ? row.request_id()
                   : n == 1                  ? c.request_id
                                             : absl::StrCat(c.request_id, ":", r);
    if (row.has_entity_key()) {
      MLOPS_ASSIGN_OR_RETURN(c.keys[r], EntityKeyText(sig, row.entity_key(), r));
    }
    if (rollout) {
      const RolloutRecord& ro = *c.serving->rollout;
      c.routes[r] = RouteRow(c.serving->plan, ro.state, ro.step, c.keys[r], c.row_ids[r]);
    }
    (c.routes[r].candidate ? c.candidate_rows : c.primary_rows).push_back(r);
    if (c.routes[r].shadow) c.shadow_rows.push_back(r);
  }
  MLOPS_RETURN_IF_ERROR(FetchFeatures(c));
  c.response.set_request_id(c.request_id);
  c.response.set_endpoint(request.endpoint());
  for (int r = 0; r < n; ++r) c.response.add_predictions();
  if (!c.candidate_rows.empty()) MLOPS_RETURN_IF_ERROR(PredictVariant(c, true));
  if (!c.primary_rows.empty()) MLOPS_RETURN_IF_ERROR(PredictVariant(c, false));

  const int64_t latency = MicrosSince(c.started);
  c.response.set_latency_micros(latency);
  RolloutStats& stats = *c.serving->stats;
  std::vector<iv1::RowPrediction> outs;
  for (bool cand : {false, true}) {
    const std::vector<int>& rows = cand ? c.candidate_rows : c.primary_rows;
    if (rows.empty()) continue;
    const LoadedModel& model = cand ? *c.serving->candidate : *c.serving->primary;
    outs.clear();
    for (int r : rows) {
      const iv1::RowPrediction& p = c.response.predictions(r);
      if (rollout) (cand ? stats.candidate : stats.primary).RecordSuccess(latency, p.score());
      outs.push_back(p);
    }
    if (metrics_ != nullptr) {
      metrics_->Predictions(request.endpoint(), model.info.version, cand ? "candidate" : "primary",
                            "OK", static_cast<int64_t>(rows.size()));
    }
    Log(c, model, cand ? mv1::VARIANT_CANDIDATE : mv1::VARIANT_PRIMARY, rows,
        cand ? c.candidate_inputs : c.primary_inputs, outs, latency);
  }
  if (metrics_ != nullptr) metrics_->Request(request.endpoint(), latency / 1e6, n);
  if (c.shadow_rows.empty()) return std::move(c.response);
  iv1::PredictResponse response = c.response;  // the shadow task keeps its own copy
  c.owned = std::make_unique<iv1::PredictRequest>(request);
  c.request = c.owned.get();
  if (!shadows_.Submit([this, call] { Shadow(call); })) {
    for (std::size_t i = 0; i < c.shadow_rows.size(); ++i) stats.comparison.RecordDropped();
  }
  return response;
}

absl::Status Predictor::FetchFeatures(Call& c) {
  std::vector<std::string> refs;
  std::set<std::string> seen;
  auto add_refs = [&](const std::shared_ptr<const LoadedModel>& m) {
    if (m == nullptr) return;
    for (std::string& ref : RefsToFetch(m->info.signature, c.inline_index)) {
      if (seen.insert(ref).second) refs.push_back(std::move(ref));
    }
  };
  add_refs(c.serving->primary);
  if (!c.candidate_rows.empty() || !c.shadow_rows.empty()) add_refs(c.serving->candidate);
  c.fetched.answer_row.assign(c.request->rows_size(), -1);
  fv1::GetOnlineFeaturesRequest req;
  for (int r = 0; r < c.request->rows_size(); ++r) {
    if (refs.empty() || !c.request->rows(r).has_entity_key()) continue;
    c.fetched.answer_row[r] = req.entity_rows_size();
    *req.add_entity_rows()->add_values() = c.request->rows(r).entity_key();
  }
  if (req.entity_rows_size() == 0) return absl::OkStatus();
  if (feature_stub_ == nullptr) {
    return absl::UnavailableError("feature service: not configured (--features_addr)");
  }
  for (const std::string& ref : refs) req.add_feature_refs(ref);
  const auto t0 = std::chrono::steady_clock::now();
  // The peer's context carries the service token; the request's deadline bounds it.
  std::unique_ptr<grpc::ClientContext> ctx = features_->NewContext();
  ctx->set_deadline(std::min(c.deadline, std::chrono::system_clock::now() +
                                             features_->default_deadline()));
  grpc::Status s = feature_stub_->GetOnlineFeatures(ctx.get(), req, &c.fetched_response);
  c.response.set_feature_lookup_micros(MicrosSince(t0));
  if (!s.ok()) {
    const absl::Status status = FromGrpcStatus(s);
    if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
        absl::IsCancelled(status)) {
      return absl::UnavailableError(absl::StrCat("feature service: ", status.message()));
    }
    return absl::Status(status.code(), absl::StrCat("feature service: ", status.message()));
  }
  if (c.fetched_response.rows_size() != req.entity_rows_size()) {
    return absl::UnavailableError("feature service: answered a different number of rows");
  }
  c.fetched.response = &c.fetched_response;
  for (int i = 0; i < c.fetched_response.columns_size(); ++i) {
    const fv1::OnlineFeatureColumn& col = c.fetched_response.columns(i);
    c.fetched.column_of_ref[i < static_cast<int>(refs.size()) ? refs[i] : col.ref()] = i;
  }
  return absl::OkStatus();
}

absl::Status Predictor::PredictVariant(Call& c, bool candidate) {
  std::vector<int>& rows = candidate ? c.candidate_rows : c.primary_rows;
  const LoadedModel& model = candidate ? *c.serving->candidate : *c.serving->primary;
  const ModelSignature& sig = model.info.signature;
  absl::StatusOr<FeatureMatrix> m = BuildFeatureMatrix(sig, *c.request, rows, c.inline_index, c.fetched);
  absl::StatusOr<xgb::Prediction> p = absl::UnknownError("not run");
  if (m.ok()) {
    timespec cpu0{}, cpu1{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    p = model.model->Predict(m->values.data(), rows.size(), m->cols);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    if (metrics_ != nullptr) {
      metrics_->ModelCpu(c.request->endpoint(), static_cast<double>(cpu1.tv_sec - cpu0.tv_sec) +
                                                    1e-9 * static_cast<double>(cpu1.tv_nsec - cpu0.tv_nsec));
    }
  }
  if (candidate && (!m.ok() || !p.ok())) {
    // The candidate failed: its rows go to the primary; the failure counts.
    const int64_t latency = MicrosSince(c.started);
    for (std::size_t i = 0; i < rows.size(); ++i) c.serving->stats->candidate.RecordError(latency);
    if (metrics_ != nullptr) {
      metrics_->Predictions(c.request->endpoint(), model.info.version, "candidate", "INTERNAL",
                            static_cast<int64_t>(rows.size()));
    }
    c.primary_rows.insert(c.primary_rows.end(), rows.begin(), rows.end());
    std::sort(c.primary_rows.begin(), c.primary_rows.end());
    rows.clear();
    return absl::OkStatus();
  }
  if (!m.ok()) return m.status();
  if (!p.ok()) return absl::InternalError(absl::StrCat("prediction failed: ", p.status().message()));
  std::optional<xgb::Contributions> contributions;  // computed only when asked
  if (c.request->options().explain()) {
    absl::StatusOr<xgb::Contributions> e = model.model->Explain(m->values.data(), rows.size(), m->cols);
    if (!e.ok()) {
      return absl::Status(absl::IsUnimplemented(e.status()) ? absl::StatusCode::kFailedPrecondition
                                                            : absl::StatusCode::kInternal,
                          absl::StrCat("explanation failed: ", e.status().message()));
    }
    contributions = std::move(*e);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    iv1::RowPrediction* out = c.response.mutable_predictions(rows[i]);
    out->set_request_id(c.row_ids[rows[i]]);
    FillOutput(sig, p->values.data() + i * p->outputs, p->outputs, out);
    out->set_model(model.info.model);
    out->set_version(model.info.version);
    out->set_variant(candidate ? iv1::VARIANT_CANDIDATE : iv1::VARIANT_PRIMARY);
    out->set_entity_found(m->entity_found[i]);
    for (const std::string& f : m->missing[i]) out->add_missing_features(f);
    if (contributions) {
      MLOPS_RETURN_IF_ERROR(AddExplanations(sig, *contributions, i, m->inputs[i], out));
    }
    if (c.request->options().return_features()) {
      for (std::size_t j = 0; j < sig.inputs.size(); ++j) {
        iv1::NamedValue* nv = out->add_features();
        nv->set_name(sig.inputs[j].name);
        *nv->mutable_value() = m->inputs[i].values(static_cast<int>(j));
      }
    }
  }
  (candidate ? c.candidate_inputs : c.primary_inputs) = std::move(m->inputs);
  return absl::OkStatus();
}

void Predictor::Shadow(std::shared_ptr<Call> call) {
  Call& c = *call;
  const LoadedModel& model = *c.serving->candidate;
  RolloutStats& stats = *c.serving->stats;
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<FeatureMatrix> m =
      BuildFeatureMatrix(model.info.signature, *c.request, c.shadow_rows, c.inline_index, c.fetched);
  absl::StatusOr<xgb::Prediction> p = absl::UnknownError("not run");
  if (m.ok()) p = model.model->Predict(m->values.data(), c.shadow_rows.size(), m->cols);
  // The shadow's latency: the primary's path up to the answer plus its own work.
  const int64_t latency = c.response.latency_micros() + MicrosSince(t0);
  if (!p.ok()) {
    for (std::size_t i = 0; i < c.shadow_rows.size(); ++i) {
      stats.shadow.RecordError(latency);
      stats.comparison.RecordError();
    }
    return;
  }
  std::vector<iv1::RowPrediction> outs(c.shadow_rows.size());
  for (std::size_t i = 0; i < c.shadow_rows.size(); ++i) {
    FillOutput(model.info.signature, p->values.data() + i * p->outputs, p->outputs, &outs[i]);
    const iv1::RowPrediction& primary = c.response.predictions(c.shadow_rows[i]);
    stats.shadow.RecordSuccess(latency, outs[i].score());
    stats.comparison.Record(primary.score(), outs[i].score(),
                            Agree(model.info.signature, primary, outs[i],
                                  c.serving->plan.agreement_tolerance));
  }
  if (metrics_ != nullptr) {
    metrics_->Predictions(c.request->endpoint(), model.info.version, "shadow", "OK",
                          static_cast<int64_t>(c.shadow_rows.size()));
  }
  Log(c, model, mv1::VARIANT_SHADOW, c.shadow_rows, m->inputs, outs, latency);
}

void Predictor::Log(const Call& c, const LoadedModel& model, mv1::Variant variant,
                    const std::vector<int>& rows, const std::vector<common::v1::Row>& inputs,
                    const std::vector<iv1::RowPrediction>& outputs, int64_t latency_micros) {
  if (logger_ == nullptr) return;
  auto names = std::make_shared<std::vector<std::string>>();
  for (const SignatureInput& in : model.info.signature.inputs) names->push_back(in.name);
  const int64_t now = options_.now_micros();
  for (std::size_t i = 0; i < rows.size() && i < outputs.size(); ++i) {
    LoggedPrediction lp;
    lp.model = model.info.model;
    lp.version = model.info.version;
    lp.endpoint = c.request->endpoint();
    lp.variant = variant;
    lp.feature_names = names;
    mv1::PredictionRecord& rec = lp.record;
    rec.set_request_id(c.row_ids[rows[i]]);
    rec.set_timestamp_micros(now);
    if (i < inputs.size()) *rec.mutable_features() = inputs[i];
    mv1::PredictionValue* v = rec.mutable_prediction();
    v->set_score(outputs[i].score());
    for (double x : outputs[i].class_probabilities()) v->add_class_probabilities(x);
    v->set_predicted_label(outputs[i].predicted_label());
    rec.set_latency_micros(latency_micros);
    logger_->Enqueue(std::move(lp));
  }
}

}  // namespace mlops::gateway
