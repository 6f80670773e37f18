#include "services/monitoring/auto_reference.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"

namespace mlops::monitoring {

absl::StatusOr<bool> ServiceReferenceSink::HasReference(const std::string& model,
                                                        int64_t version) {
  return service_->HasReference(model, version);
}

absl::Status ServiceReferenceSink::SetAutomaticReference(const v1::SetReferenceRequest& req,
                                                         const std::string& dataset_version) {
  return service_->SetAutomaticReference(req, dataset_version).status();
}

absl::StatusOr<v1::SetReferenceRequest> ReferenceRequestFromProfile(
    const ModelInputs& inputs, const common::v1::DatasetProfile& profile) {
  v1::SetReferenceRequest req;
  req.set_model(inputs.model);
  req.set_version(inputs.version);
  common::v1::DatasetProfile* out = req.mutable_profile();
  out->set_row_count(profile.row_count());
  for (const ModelInput& input : inputs.inputs) {
    auto it = std::find_if(profile.columns().begin(), profile.columns().end(),
                           [&](const common::v1::ColumnProfile& c) { return c.name() == input.name; });
    if (it == profile.columns().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the profile of dataset version ", inputs.dataset_version,
                       " has no column \"", input.name, "\" (an input of ", inputs.model, "@",
                       inputs.version, ")"));
    }
    *out->add_columns() = *it;
  }
  return req;
}

int64_t RetryDelayMicros(int attempts, int64_t first_micros, int64_t max_micros) {
  int64_t delay = first_micros;
  for (int i = 1; i < attempts && delay < max_micros; ++i) delay *= 2;
  return std::min(delay, max_micros);
}

AutoReferencer::AutoReferencer(ModelVersionSource* versions, TrainingRowSource* rows,
                               ProfileSource* profiles, ReferenceSink* sink,
                               AutoReferenceCounters* counters, AutoReferencerOptions options)
    : versions_(versions),
      rows_(rows),
      profiles_(profiles),
      sink_(sink),
      counters_(counters),
      options_(options) {}

AutoReferencer::~AutoReferencer() { Stop(); }

void AutoReferencer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void AutoReferencer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t AutoReferencer::failures() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failures_;
}

void AutoReferencer::OnProduction(const std::string& model, int64_t version) {
  if (version <= 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const Key key(model, version);
    if (done_.count(key) != 0 || pending_.count(key) != 0) return;
    if (pending_.size() >= options_.max_queued) {
      LogWarn("auto_reference_dropped", {{"model", model},
                                         {"version", std::to_string(version)},
                                         {"reason", "queue full"}});
      if (counters_ != nullptr) counters_->AutoReference("dropped");
      return;
    }
    pending_[key].due = std::chrono::steady_clock::now();
  }
  cv_.notify_all();
}

absl::Status AutoReferencer::EnsureReference(const std::string& model, int64_t version) {
  MLOPS_ASSIGN_OR_RETURN(bool exists, sink_->HasReference(model, version));
  if (exists) {
    if (counters_ != nullptr) counters_->AutoReference("skipped");
    LogInfo("auto_reference_skipped", {{"model", model},
                                       {"version", std::to_string(version)},
                                       {"reason", "a reference is set"}});
    return absl::OkStatus();
  }
  MLOPS_ASSIGN_OR_RETURN(ModelInputs inputs, versions_->GetModelInputs(model, version));
  const bool has_feature_refs =
      std::any_of(inputs.inputs.begin(), inputs.inputs.end(),
                  [](const ModelInput& i) { return !i.feature_ref.empty(); });
  v1::SetReferenceRequest req;
  std::string how;
  if (has_feature_refs) {
    if (rows_ == nullptr) {
      return absl::FailedPreconditionError("no feature service peer configured");
    }
    MLOPS_ASSIGN_OR_RETURN(v1::InlineRows rows, rows_->SampleInputs(inputs, options_.max_rows));
    req.set_model(model);
    req.set_version(version);
    how = absl::StrCat("historical features, ", rows.rows_size(), " rows");
    *req.mutable_rows() = std::move(rows);
  } else {
    if (profiles_ == nullptr) {
      return absl::FailedPreconditionError("no ingestion peer configured");
    }
    MLOPS_ASSIGN_OR_RETURN(common::v1::DatasetProfile profile,
                           profiles_->GetDatasetProfile(inputs.dataset_version));
    MLOPS_ASSIGN_OR_RETURN(req, ReferenceRequestFromProfile(inputs, profile));
    how = "ingestion profile";
  }
  // A reference set by hand while this one was being built wins.
  MLOPS_ASSIGN_OR_RETURN(exists, sink_->HasReference(model, version));
  if (exists) return absl::OkStatus();
  MLOPS_RETURN_IF_ERROR(sink_->SetAutomaticReference(req, inputs.dataset_version));
  if (counters_ != nullptr) counters_->AutoReference("set");
  LogInfo("auto_reference_set", {{"model", model},
                                 {"version", std::to_string(version)},
                                 {"dataset_version", inputs.dataset_version},
                                 {"features", std::to_string(inputs.inputs.size())},
                                 {"from", how}});
  return absl::OkStatus();
}

void AutoReferencer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto next = std::min_element(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) {
      return a.second.due < b.second.due;
    });
    if (next == pending_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (next->second.due > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, next->second.due);
      continue;
    }
    const Key key = next->first;
    lock.unlock();
    absl::Status s = EnsureReference(std::get<0>(key), std::get<1>(key));
    lock.lock();
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    if (s.ok()) {
      pending_.erase(it);
      done_.insert(key);
      continue;
    }
    ++failures_;
    const int attempts = ++it->second.attempts;
    const int64_t delay =
        RetryDelayMicros(attempts, options_.first_retry_micros, options_.max_retry_micros);
    it->second.due = std::chrono::steady_clock::now() + std::chrono::microseconds(delay);
    if (counters_ != nullptr) counters_->AutoReference("failed");
    LogWarn("auto_reference_failed", {{"model", std::get<0>(key)},
                                      {"version", std::to_string(std::get<1>(key))},
                                      {"attempt", std::to_string(attempts)},
                                      {"retry_in_ms", std::to_string(delay / 1000)},
                                      {"status", s.ToString()}});
  }
}

}  // namespace mlops::monitoring
