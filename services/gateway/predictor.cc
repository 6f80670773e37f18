#include "services/gateway/predictor.h"

#include <algorithm>

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
  InlinePositions primary_positions;    // the primary's inputs in feature_names
  InlinePositions candidate_positions;  // the candidate's (when it predicts or shadows)
  std::vector<std::string> row_ids;
  std::vector<std::string> keys;  // entity key text per row ("" = none)
  std::vector<RowRoute> routes;
  std::vector<std::string> refs;  // to fetch, in the lookup's column order
  fv1::GetOnlineFeaturesRequest fetch_request;
  std::unique_ptr<grpc::ClientContext> fetch_context;
  std::chrono::steady_clock::time_point fetch_started;
  fv1::GetOnlineFeaturesResponse fetched_response;
  FetchedFeatures fetched;
  iv1::PredictResponse response;
  std::vector<int> primary_rows, candidate_rows, shadow_rows;
  FeatureMatrix primary_matrix;  // rows parallel to primary_rows (its inputs point into request)
  FeatureMatrix candidate_matrix;
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
  if (features_ != nullptr) {
    feature_stub_ = fv1::FeatureService::NewStub(features_->channel());
    lookups_ = std::make_unique<FeatureLookups>(features_, options_.stream_lookups);
  }
}

absl::StatusOr<iv1::PredictResponse> Predictor::Predict(
    const iv1::PredictRequest& request, std::chrono::system_clock::time_point grpc_deadline) {
  auto call = std::make_shared<Call>();
  absl::Status s = Prepare(*call, request, grpc_deadline);
  if (s.ok()) s = PrepareFetch(*call);
  if (s.ok() && call->fetch_context != nullptr) {
    s = AfterFetch(*call, feature_stub_->GetOnlineFeatures(call->fetch_context.get(),
                                                           call->fetch_request,
                                                           &call->fetched_response));
  }
  if (!s.ok()) return Counted(request, s);
  return Counted(request, Answer(call));
}

void Predictor::PredictAsync(const iv1::PredictRequest& request,
                             std::chrono::system_clock::time_point grpc_deadline, PredictDone done) {
  auto call = std::make_shared<Call>();
  absl::Status s = Prepare(*call, request, grpc_deadline);
  if (s.ok()) s = PrepareFetch(*call);
  if (!s.ok()) {
    done(Counted(request, s));
    return;
  }
  if (call->fetch_context == nullptr) {
    done(Counted(request, Answer(call)));
    return;
  }
  Call& c = *call;
  lookups_->Lookup(
      &c.fetch_request, &c.fetched_response, c.fetch_context->deadline(),
      [this, call, done = std::move(done)](const grpc::Status& status) {
        absl::Status after = AfterFetch(*call, status);
        done(Counted(*call->request,
                     after.ok() ? Answer(call) : absl::StatusOr<iv1::PredictResponse>(after)));
      });
}

void Predictor::ReleaseQueues() {
  if (lookups_ != nullptr) lookups_->ReleaseQueues();
}

absl::StatusOr<iv1::PredictResponse> Predictor::Counted(const iv1::PredictRequest& request,
                                                        absl::StatusOr<iv1::PredictResponse> out) {
  if (!out.ok() && metrics_ != nullptr) {
    // Endpoint names from clients are unbounded: only known endpoints get a label.
    const bool known = endpoints_->Find(request.endpoint()) != nullptr;
    metrics_->ForEndpoint(known ? request.endpoint() : "unknown")
        ->Predictions(0, PredictionVariant::kNone, out.status().code(), request.rows_size());
  }
  return out;
}

absl::Status Predictor::Prepare(Call& c, const iv1::PredictRequest& request,
                                std::chrono::system_clock::time_point grpc_deadline) {
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
  MLOPS_ASSIGN_OR_RETURN(c.primary_positions, IndexInlineFeatures(sig, request));

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
  if (c.serving->candidate != nullptr && (!c.candidate_rows.empty() || !c.shadow_rows.empty())) {
    c.candidate_positions = PositionsOf(c.serving->candidate->info.signature, request);
  }
  return absl::OkStatus();
}

absl::StatusOr<iv1::PredictResponse> Predictor::Answer(const std::shared_ptr<Call>& call) {
  Call& c = *call;
  const iv1::PredictRequest& request = *c.request;
  const int n = request.rows_size();
  const bool rollout = c.serving->rollout && c.serving->candidate != nullptr;
  c.response.set_request_id(c.request_id);
  c.response.set_endpoint(request.endpoint());
  for (int r = 0; r < n; ++r) c.response.add_predictions();
  if (!c.candidate_rows.empty()) MLOPS_RETURN_IF_ERROR(PredictVariant(c, true));
  if (!c.primary_rows.empty()) MLOPS_RETURN_IF_ERROR(PredictVariant(c, false));

  const int64_t latency = MicrosSince(c.started);
  c.response.set_latency_micros(latency);
  RolloutStats& stats = *c.serving->stats;
  EndpointMetrics* const em = metrics_ != nullptr ? metrics_->ForEndpoint(request.endpoint()) : nullptr;
  std::vector<const iv1::RowPrediction*> outs;
  for (bool cand : {false, true}) {
    const std::vector<int>& rows = cand ? c.candidate_rows : c.primary_rows;
    if (rows.empty()) continue;
    const LoadedModel& model = cand ? *c.serving->candidate : *c.serving->primary;
    outs.clear();
    for (int r : rows) {
      const iv1::RowPrediction& p = c.response.predictions(r);
      if (rollout) (cand ? stats.candidate : stats.primary).RecordSuccess(latency, p.score());
      outs.push_back(&p);
    }
    if (em != nullptr) {
      em->Predictions(model.info.version,
                      cand ? PredictionVariant::kCandidate : PredictionVariant::kPrimary,
                      absl::StatusCode::kOk, static_cast<int64_t>(rows.size()));
    }
    Log(c, model, cand ? mv1::VARIANT_CANDIDATE : mv1::VARIANT_PRIMARY, rows,
        cand ? c.candidate_matrix : c.primary_matrix, outs, latency);
  }
  if (em != nullptr) em->Request(latency / 1e6, n);
  if (c.shadow_rows.empty()) return std::move(c.response);
  iv1::PredictResponse response = c.response;  // the shadow task keeps its own copy
  c.primary_matrix = FeatureMatrix();  // they point into `request`, which the shadow outlives
  c.candidate_matrix = FeatureMatrix();
  c.owned = std::make_unique<iv1::PredictRequest>(request);
  c.request = c.owned.get();
  if (!shadows_.Submit([this, call] { Shadow(call); })) {
    for (std::size_t i = 0; i < c.shadow_rows.size(); ++i) stats.comparison.RecordDropped();
  }
  return response;
}

absl::Status Predictor::PrepareFetch(Call& c) {
  std::vector<std::string>& refs = c.refs;
  std::set<std::string> seen;
  auto add_refs = [&](const std::shared_ptr<const LoadedModel>& m) {
    if (m == nullptr) return;
    const InlinePositions& positions =
        m == c.serving->primary ? c.primary_positions : c.candidate_positions;
    for (std::string& ref : RefsToFetch(m->info.signature, positions)) {
      if (seen.insert(ref).second) refs.push_back(std::move(ref));
    }
  };
  add_refs(c.serving->primary);
  if (!c.candidate_rows.empty() || !c.shadow_rows.empty()) add_refs(c.serving->candidate);
  c.fetched.answer_row.assign(c.request->rows_size(), -1);
  fv1::GetOnlineFeaturesRequest& req = c.fetch_request;
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
  c.fetch_started = std::chrono::steady_clock::now();
  // The peer's context carries the service token; the request's deadline bounds it.
  c.fetch_context = features_->NewContext();
  c.fetch_context->set_deadline(std::min(c.deadline, std::chrono::system_clock::now() +
                                                         features_->default_deadline()));
  return absl::OkStatus();
}

absl::Status Predictor::AfterFetch(Call& c, const grpc::Status& s) {
  const std::vector<std::string>& refs = c.refs;
  c.response.set_feature_lookup_micros(MicrosSince(c.fetch_started));
  if (!s.ok()) {
    const absl::Status status = FromGrpcStatus(s);
    if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
        absl::IsCancelled(status)) {
      return absl::UnavailableError(absl::StrCat("feature service: ", status.message()));
    }
    return absl::Status(status.code(), absl::StrCat("feature service: ", status.message()));
  }
  if (c.fetched_response.rows_size() != c.fetch_request.entity_rows_size()) {
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
  EndpointMetrics* const em = metrics_ != nullptr ? metrics_->ForEndpoint(c.request->endpoint()) : nullptr;
  absl::StatusOr<FeatureMatrix> m = BuildFeatureMatrix(
      sig, *c.request, rows, candidate ? c.candidate_positions : c.primary_positions, c.fetched);
  absl::StatusOr<xgb::Prediction> p = absl::UnknownError("not run");
  if (m.ok()) {
    // Wall time (vDSO) rather than thread CPU time (a system call each): the
    // model runs on this thread without blocking.
    const auto t0 = std::chrono::steady_clock::now();
    p = model.model->Predict(m->values.data(), rows.size(), m->cols);
    if (em != nullptr) {
      em->ModelSeconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  if (candidate && (!m.ok() || !p.ok())) {
    // The candidate failed: its rows go to the primary; the failure counts.
    const int64_t latency = MicrosSince(c.started);
    for (std::size_t i = 0; i < rows.size(); ++i) c.serving->stats->candidate.RecordError(latency);
    if (em != nullptr) {
      em->Predictions(model.info.version, PredictionVariant::kCandidate,
                      absl::StatusCode::kInternal, static_cast<int64_t>(rows.size()));
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
      MLOPS_RETURN_IF_ERROR(AddExplanations(sig, *contributions, i, m->InputRow(i), out));
    }
    if (c.request->options().return_features()) {
      for (std::size_t j = 0; j < sig.inputs.size(); ++j) {
        iv1::NamedValue* nv = out->add_features();
        nv->set_name(sig.inputs[j].name);
        *nv->mutable_value() = *m->inputs[i * m->cols + j];
      }
    }
  }
  (candidate ? c.candidate_matrix : c.primary_matrix) = std::move(*m);
  return absl::OkStatus();
}

void Predictor::Shadow(std::shared_ptr<Call> call) {
  Call& c = *call;
  const LoadedModel& model = *c.serving->candidate;
  RolloutStats& stats = *c.serving->stats;
  const auto t0 = std::chrono::steady_clock::now();
  absl::StatusOr<FeatureMatrix> m = BuildFeatureMatrix(model.info.signature, *c.request,
                                                       c.shadow_rows, c.candidate_positions, c.fetched);
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
  std::vector<const iv1::RowPrediction*> out_ptrs;
  for (std::size_t i = 0; i < c.shadow_rows.size(); ++i) {
    FillOutput(model.info.signature, p->values.data() + i * p->outputs, p->outputs, &outs[i]);
    const iv1::RowPrediction& primary = c.response.predictions(c.shadow_rows[i]);
    stats.shadow.RecordSuccess(latency, outs[i].score());
    stats.comparison.Record(primary.score(), outs[i].score(),
                            Agree(model.info.signature, primary, outs[i],
                                  c.serving->plan.agreement_tolerance));
    out_ptrs.push_back(&outs[i]);
  }
  if (metrics_ != nullptr) {
    metrics_->ForEndpoint(c.request->endpoint())
        ->Predictions(model.info.version, PredictionVariant::kShadow, absl::StatusCode::kOk,
                      static_cast<int64_t>(c.shadow_rows.size()));
  }
  Log(c, model, mv1::VARIANT_SHADOW, c.shadow_rows, *m, out_ptrs, latency);
}

void Predictor::Log(const Call& c, const LoadedModel& model, mv1::Variant variant,
                    const std::vector<int>& rows, const FeatureMatrix& inputs,
                    const std::vector<const iv1::RowPrediction*>& outputs, int64_t latency_micros) {
  if (logger_ == nullptr) return;
  const int64_t now = options_.now_micros();
  for (std::size_t i = 0; i < rows.size() && i < outputs.size(); ++i) {
    LoggedPrediction lp;
    lp.model = model.info.model;
    lp.version = model.info.version;
    lp.endpoint = c.request->endpoint();
    lp.variant = variant;
    lp.feature_names = model.input_names;
    if (lp.feature_names == nullptr) {  // a model not loaded by ModelCache
      auto names = std::make_shared<std::vector<std::string>>();
      for (const SignatureInput& in : model.info.signature.inputs) names->push_back(in.name);
      lp.feature_names = std::move(names);
    }
    mv1::PredictionRecord& rec = lp.record;
    rec.set_request_id(c.row_ids[rows[i]]);
    rec.set_timestamp_micros(now);
    if ((i + 1) * inputs.cols <= inputs.inputs.size()) {
      google::protobuf::RepeatedPtrField<common::v1::Value>* values =
          rec.mutable_features()->mutable_values();
      values->Reserve(static_cast<int>(inputs.cols));
      for (std::size_t j = 0; j < inputs.cols; ++j) *values->Add() = *inputs.inputs[i * inputs.cols + j];
    }
    const iv1::RowPrediction& out = *outputs[i];
    mv1::PredictionValue* v = rec.mutable_prediction();
    v->set_score(out.score());
    v->mutable_class_probabilities()->CopyFrom(out.class_probabilities());
    v->set_predicted_label(out.predicted_label());
    rec.set_latency_micros(latency_micros);
    logger_->Enqueue(std::move(lp));
  }
}

}  // namespace mlops::gateway
