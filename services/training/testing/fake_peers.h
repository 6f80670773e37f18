#pragma once
// Test-only fakes of the training service's peers, as real gRPC services on
// a loopback port (PeerChannel needs an address): ingestion (one dataset
// "loans" of generated rows), features (one view "cust" at version 2 with a
// DOUBLE and a STRING feature) and the registry (records registrations).
// They can be told to answer UNAVAILABLE a few times. Thread-safe.

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "mlops/registry/v1/registry.grpc.pb.h"
#include "services/training/tracking.h"
#include "services/training/training_set.h"

namespace mlops::training::testing {

namespace cv1 = ::mlops::common::v1;

inline const std::string kVersionId = std::string(64, 'a');
inline const std::string kSourceVersionId = std::string(64, 'c');
inline constexpr int kRows = 400;

// Row i of "loans": id, ts, x0, x1, x2, label (x0 + x1 / 2 > 0.8), note.
inline double Uniform(int i, int k) {
  uint64_t s = static_cast<uint64_t>(i) * 2654435761u + static_cast<uint64_t>(k) * 40503u + 12345u;
  SplitMix64(&s);
  return static_cast<double>(SplitMix64(&s) % 100000) / 100000.0;
}

inline void AddColumn(cv1::Schema* schema, const std::string& name, cv1::DataType type, cv1::ColumnRole role) {
  cv1::Column* c = schema->add_columns();
  c->set_name(name);
  c->set_type(type);
  c->set_role(role);
  c->set_nullable(true);
}

inline cv1::Schema LoansSchema() {
  cv1::Schema s;
  AddColumn(&s, "id", cv1::DATA_TYPE_INT64, cv1::COLUMN_ROLE_ENTITY_KEY);
  AddColumn(&s, "ts", cv1::DATA_TYPE_TIMESTAMP, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  AddColumn(&s, "x0", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(&s, "x1", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(&s, "x2", cv1::DATA_TYPE_INT64, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(&s, "label", cv1::DATA_TYPE_BOOL, cv1::COLUMN_ROLE_LABEL);
  AddColumn(&s, "amount", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_METADATA);
  AddColumn(&s, "note", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_METADATA);
  return s;
}

inline cv1::Value CellOf(const std::string& column, int i) {
  cv1::Value v;
  const double x0 = Uniform(i, 0), x1 = Uniform(i, 1);
  if (column == "id") v.set_int64_value(i % 50);
  if (column == "ts") v.set_timestamp_micros(1700000000000000 + int64_t{i} * 1000000);
  if (column == "x0") v.set_double_value(x0);
  if (column == "x1") v.set_double_value(x1);
  if (column == "x2") v.set_int64_value(i % 5);
  if (column == "label") v.set_bool_value(x0 + x1 / 2 > 0.8);
  if (column == "amount") v.set_double_value(100 * x0);
  if (column == "note") v.set_string_value("n");
  return v;
}

// Answers UNAVAILABLE while `unavailable_left` > 0 (decremented per call).
inline bool TakeUnavailable(std::atomic<int>* left) {
  int n = left->load();
  while (n > 0 && !left->compare_exchange_weak(n, n - 1)) {}
  return n > 0;
}

class FakeIngestion final : public ingestion::v1::IngestionService::Service {
 public:
  std::atomic<int> read_unavailable{0};
  std::atomic<int> reads{0};

  // Every open WatchDatasetVersions stream sends the versions pushed here.
  void PushVersion(const ingestion::v1::DatasetVersion& v) {
    absl::MutexLock lock(&mu_);
    pushed_.push_back(v);
  }
  grpc::Status WatchDatasetVersions(grpc::ServerContext* ctx, const ingestion::v1::WatchDatasetVersionsRequest*,
                                    grpc::ServerWriter<ingestion::v1::WatchDatasetVersionsResponse>* writer) override {
    std::size_t sent = 0;
    for (int i = 0; i < 6000 && !ctx->IsCancelled(); ++i) {  // at most 60 s
      std::vector<ingestion::v1::DatasetVersion> fresh;
      {
        absl::MutexLock lock(&mu_);
        fresh.assign(pushed_.begin() + static_cast<std::ptrdiff_t>(sent), pushed_.end());
        sent = pushed_.size();
      }
      for (const auto& v : fresh) {
        ingestion::v1::WatchDatasetVersionsResponse msg;
        *msg.mutable_version() = v;
        if (!writer->Write(msg)) return grpc::Status::CANCELLED;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return grpc::Status::CANCELLED;
  }

  grpc::Status GetDataset(grpc::ServerContext*, const ingestion::v1::GetDatasetRequest* req,
                          ingestion::v1::Dataset* resp) override {
    if (req->name() != "loans") return {grpc::StatusCode::NOT_FOUND, "dataset \"" + req->name() + "\" not found"};
    resp->set_name("loans");
    *resp->mutable_schema() = LoansSchema();
    resp->set_head_version_id(kVersionId);
    return grpc::Status::OK;
  }
  grpc::Status ListDatasetVersions(grpc::ServerContext*, const ingestion::v1::ListDatasetVersionsRequest* req,
                                   ingestion::v1::ListDatasetVersionsResponse* resp) override {
    if (req->dataset() != "loans") return {grpc::StatusCode::NOT_FOUND, "no such dataset"};
    resp->add_versions()->set_id(kVersionId);
    return grpc::Status::OK;
  }
  grpc::Status GetDatasetVersion(grpc::ServerContext*, const ingestion::v1::GetDatasetVersionRequest* req,
                                 ingestion::v1::DatasetVersion* resp) override {
    if (req->version().dataset() != "loans" || req->version().version_id() != kVersionId) {
      return {grpc::StatusCode::NOT_FOUND, "no such dataset version"};
    }
    resp->set_id(kVersionId);
    resp->set_dataset("loans");
    return grpc::Status::OK;
  }
  grpc::Status ReadDatasetVersion(grpc::ServerContext*, const ingestion::v1::ReadDatasetVersionRequest* req,
                                  grpc::ServerWriter<ingestion::v1::ReadDatasetVersionResponse>* writer) override {
    ++reads;
    if (TakeUnavailable(&read_unavailable)) return {grpc::StatusCode::UNAVAILABLE, "ingestion restarting"};
    if (req->version().version_id() != kVersionId) return {grpc::StatusCode::NOT_FOUND, "no such version"};
    ingestion::v1::ReadDatasetVersionResponse msg;
    ingestion::v1::ReadHeader* h = msg.mutable_header();
    h->mutable_version()->set_id(kVersionId);
    const cv1::Schema all = LoansSchema();
    for (const std::string& name : req->columns()) {
      for (const cv1::Column& c : all.columns()) {
        if (c.name() == name) *h->mutable_schema()->add_columns() = c;
      }
    }
    h->set_row_count(kRows);
    writer->Write(msg);
    msg.Clear();
    for (int i = 0; i < kRows; ++i) {
      cv1::Row* row = msg.mutable_chunk()->add_rows();
      for (const std::string& name : req->columns()) *row->add_values() = CellOf(name, i);
    }
    writer->Write(msg);
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::vector<ingestion::v1::DatasetVersion> pushed_ ABSL_GUARDED_BY(mu_);
};

class FakeFeatures final : public features::v1::FeatureService::Service {
 public:
  grpc::Status GetFeatureView(grpc::ServerContext*, const features::v1::GetFeatureViewRequest* req,
                              features::v1::FeatureView* resp) override {
    if (req->name() != "cust" || (req->version() != 0 && req->version() != 2)) {
      return {grpc::StatusCode::NOT_FOUND, "feature view not found"};
    }
    resp->mutable_spec()->set_name("cust");
    resp->mutable_spec()->set_entity_key_column("id");
    resp->set_version(2);
    AddColumn(resp->mutable_feature_schema(), "avg_amount", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
    AddColumn(resp->mutable_feature_schema(), "segment", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_FEATURE);
    return grpc::Status::OK;
  }
  grpc::Status GetHistoricalFeatures(grpc::ServerContext*, const features::v1::GetHistoricalFeaturesRequest* req,
                                     grpc::ServerWriter<features::v1::GetHistoricalFeaturesResponse>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*req);
    }
    features::v1::GetHistoricalFeaturesResponse msg;
    features::v1::HistoricalFeaturesHeader* h = msg.mutable_header();
    const cv1::Schema all = LoansSchema();
    for (const std::string& name : req->dataset().columns()) {
      for (const cv1::Column& c : all.columns()) {
        if (c.name() == name) *h->mutable_schema()->add_columns() = c;
      }
    }
    AddColumn(h->mutable_schema(), "avg_amount", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
    features::v1::ViewVersionUsed* used = h->add_views();
    used->set_view("cust");
    used->set_version(2);
    used->set_source_dataset_version_id(kSourceVersionId);
    h->set_row_count(kRows);
    h->set_input_dataset_version_id(req->dataset().version_id());
    h->add_resolved_feature_refs("cust@2:avg_amount");
    writer->Write(msg);
    msg.Clear();
    for (int i = 0; i < kRows; ++i) {
      cv1::Row* row = msg.mutable_chunk()->add_rows();
      for (const std::string& name : req->dataset().columns()) *row->add_values() = CellOf(name, i);
      row->add_values()->set_double_value(Uniform(i, 1) * 10);  // the feature carries x1's signal
    }
    writer->Write(msg);
    return grpc::Status::OK;
  }
  std::vector<features::v1::GetHistoricalFeaturesRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::vector<features::v1::GetHistoricalFeaturesRequest> requests_ ABSL_GUARDED_BY(mu_);
};

class FakeRegistry final : public registry::v1::RegistryService::Service {
 public:
  std::atomic<int> unavailable{0};

  grpc::Status RegisterModelVersion(grpc::ServerContext*,
                                    grpc::ServerReader<registry::v1::RegisterModelVersionRequest>* reader,
                                    registry::v1::ModelVersion* resp) override {
    registry::v1::RegisterModelVersionRequest msg;
    registry::v1::RegisterModelVersionHeader header;
    std::string artifact;
    while (reader->Read(&msg)) {
      if (msg.has_header()) header = msg.header();
      else artifact += msg.artifact_chunk();
    }
    if (TakeUnavailable(&unavailable)) return {grpc::StatusCode::UNAVAILABLE, "registry restarting"};
    if (Sha256Hex(artifact) != header.expected_artifact().sha256()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "artifact sha256 mismatch"};
    }
    absl::MutexLock lock(&mu_);
    headers_.push_back(header);
    artifacts_.push_back(artifact);
    resp->set_model(header.model());
    resp->set_version(static_cast<int64_t>(headers_.size()));
    return grpc::Status::OK;
  }
  // Grants every transition with one threshold check, or denies PRODUCTION
  // when `deny_production` is set, as a gate would.
  std::atomic<bool> deny_production{false};
  grpc::Status RequestTransition(grpc::ServerContext*, const registry::v1::RequestTransitionRequest* req,
                                 registry::v1::TransitionRequest* resp) override {
    {
      absl::MutexLock lock(&mu_);
      transitions_.push_back(*req);
    }
    if (deny_production && req->target_stage() == registry::v1::STAGE_PRODUCTION) {
      return {grpc::StatusCode::FAILED_PRECONDITION, "threshold auc >= 0.99: measured 0.9"};
    }
    resp->set_status(registry::v1::TRANSITION_STATUS_GRANTED);
    if (req->target_stage() == registry::v1::STAGE_PRODUCTION) {
      absl::MutexLock lock(&mu_);
      production_ = req->version().version();
    }
    registry::v1::CheckResult* check = resp->mutable_gate_report()->add_checks();
    check->set_name("threshold auc >= 0.5");
    check->set_measured(0.9);
    return grpc::Status::OK;
  }
  // The production version (the last granted PRODUCTION transition) with
  // its registered signature and artifact hash; NOT_FOUND before one.
  grpc::Status GetModelVersion(grpc::ServerContext*, const registry::v1::GetModelVersionRequest* req,
                               registry::v1::ModelVersion* resp) override {
    if (req->selector_case() != registry::v1::GetModelVersionRequest::kStage ||
        req->stage() != registry::v1::STAGE_PRODUCTION) {
      return {grpc::StatusCode::UNIMPLEMENTED, "the fake answers stage PRODUCTION only"};
    }
    absl::MutexLock lock(&mu_);
    if (production_ == 0) return {grpc::StatusCode::NOT_FOUND, "no version in stage PRODUCTION"};
    const registry::v1::RegisterModelVersionHeader& h = headers_.at(static_cast<std::size_t>(production_ - 1));
    resp->set_model(h.model());
    resp->set_version(production_);
    resp->mutable_artifact()->set_sha256(h.expected_artifact().sha256());
    resp->mutable_artifact()->set_size_bytes(h.expected_artifact().size_bytes());
    *resp->mutable_signature() = h.signature();
    return grpc::Status::OK;
  }
  // Streams a version's bytes after an info message, in 1 KiB chunks.
  grpc::Status GetArtifact(grpc::ServerContext*, const registry::v1::GetArtifactRequest* req,
                           grpc::ServerWriter<registry::v1::GetArtifactResponse>* writer) override {
    std::string bytes;
    {
      absl::MutexLock lock(&mu_);
      const int64_t v = req->version().version();
      if (v < 1 || v > static_cast<int64_t>(artifacts_.size())) return {grpc::StatusCode::NOT_FOUND, "no such version"};
      bytes = artifacts_[static_cast<std::size_t>(v - 1)];
      artifact_reads_.push_back(v);
    }
    registry::v1::GetArtifactResponse msg;
    msg.mutable_info()->set_sha256(Sha256Hex(bytes));
    msg.mutable_info()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    writer->Write(msg);
    for (std::size_t off = 0; off < bytes.size(); off += 1024) {
      msg.Clear();
      msg.set_chunk(bytes.substr(off, 1024));
      writer->Write(msg);
    }
    return grpc::Status::OK;
  }
  // Records evaluations; ALREADY_EXISTS for a repeated (version, name, dataset version).
  grpc::Status AddEvaluation(grpc::ServerContext*, const registry::v1::AddEvaluationRequest* req,
                             registry::v1::ModelVersion* resp) override {
    absl::MutexLock lock(&mu_);
    for (const registry::v1::AddEvaluationRequest& e : evaluations_) {
      if (e.version().version() == req->version().version() &&
          e.evaluation().name() == req->evaluation().name() &&
          e.evaluation().dataset_version() == req->evaluation().dataset_version()) {
        return {grpc::StatusCode::ALREADY_EXISTS, "evaluation exists"};
      }
    }
    evaluations_.push_back(*req);
    resp->set_model(req->version().model());
    resp->set_version(req->version().version());
    return grpc::Status::OK;
  }
  std::vector<registry::v1::AddEvaluationRequest> evaluations() {
    absl::MutexLock lock(&mu_);
    return evaluations_;
  }
  std::vector<int64_t> artifact_reads() {
    absl::MutexLock lock(&mu_);
    return artifact_reads_;
  }
  std::vector<registry::v1::RequestTransitionRequest> transitions() {
    absl::MutexLock lock(&mu_);
    return transitions_;
  }
  std::vector<registry::v1::RegisterModelVersionHeader> headers() {
    absl::MutexLock lock(&mu_);
    return headers_;
  }
  std::vector<std::string> artifacts() {
    absl::MutexLock lock(&mu_);
    return artifacts_;
  }

 private:
  absl::Mutex mu_;
  std::vector<registry::v1::RegisterModelVersionHeader> headers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> artifacts_ ABSL_GUARDED_BY(mu_);
  std::vector<registry::v1::RequestTransitionRequest> transitions_ ABSL_GUARDED_BY(mu_);
  int64_t production_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<registry::v1::AddEvaluationRequest> evaluations_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> artifact_reads_ ABSL_GUARDED_BY(mu_);
};

// The three fakes on one loopback server.
class FakePeers {
 public:
  FakePeers() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&ingestion);
    builder.RegisterService(&features);
    builder.RegisterService(&registry);
    server_ = builder.BuildAndStart();
  }
  ~FakePeers() { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  FakeIngestion ingestion;
  FakeFeatures features;
  FakeRegistry registry;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace mlops::training::testing
