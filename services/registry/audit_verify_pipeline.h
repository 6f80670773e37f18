#pragma once
// Verifies a stream of audit entries with the hashing of one batch running on
// a second thread while the next batch is read (the reader, e.g. a COPY from
// Postgres, and the SHA-256 work then use both cores). The chain checks stay
// sequential, in AuditChainVerifier. Not thread-safe: one caller feeds it.
#include <future>
#include <string>
#include <vector>

#include "services/registry/audit_chain.h"

namespace mlops::registry {

class AuditVerifyPipeline {
 public:
  AuditVerifyPipeline(std::string prev_hash, int64_t prev_sequence, size_t batch = 8192);
  ~AuditVerifyPipeline();
  AuditVerifyPipeline(const AuditVerifyPipeline&) = delete;
  AuditVerifyPipeline& operator=(const AuditVerifyPipeline&) = delete;

  // Returns false once a break was found (stop feeding). Takes `e`'s
  // contents, leaving it a recycled entry (strings with capacity) to refill.
  bool Add(AuditEntry& e);
  bool Add(const AuditEntry& e) {
    AuditEntry copy = e;
    return Add(copy);
  }
  // Verifies what is still buffered; the result is final afterwards.
  const AuditVerifyResult& Finish();

 private:
  // Feeds the batch being hashed, once its hashes are ready.
  bool Collect();

  AuditChainVerifier verifier_;
  size_t batch_size_;
  // Entries are recycled between the two vectors: filling_[0, filled_) are
  // real, the rest are spares whose strings keep their capacity.
  std::vector<AuditEntry> filling_;
  size_t filled_ = 0;
  std::vector<AuditEntry> hashing_;
  std::future<std::vector<std::string>> hashes_;
};

}  // namespace mlops::registry
