#pragma once
// EndpointStore in memory (benchmark and tests without Postgres); can be
// told to fail. Thread-safe.

#include <map>
#include <mutex>

#include "services/gateway/endpoint_store.h"

namespace mlops::gateway::testing {

class MemoryEndpointStore final : public EndpointStore {
 public:
  absl::Status Save(const EndpointRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    records_[record.endpoint] = record;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<EndpointRecord>> LoadAll() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_.ok()) return fail_;
    std::vector<EndpointRecord> out;
    for (const auto& [name, r] : records_) out.push_back(r);
    return out;
  }
  void Fail(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(s);
  }

 private:
  std::mutex mu_;
  absl::Status fail_;
  std::map<std::string, EndpointRecord> records_;
};

}  // namespace mlops::gateway::testing
