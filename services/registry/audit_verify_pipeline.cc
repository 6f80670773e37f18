#include "services/registry/audit_verify_pipeline.h"

namespace mlops::registry {
namespace {

std::vector<std::string> HashAll(const std::vector<AuditEntry>& entries) {
  Sha256Hasher hasher;
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (const AuditEntry& e : entries) out.push_back(hasher.Hex(CanonicalAuditEncoding(e)));
  return out;
}

}  // namespace

AuditVerifyPipeline::AuditVerifyPipeline(std::string prev_hash, int64_t prev_sequence,
                                         size_t batch)
    : verifier_(std::move(prev_hash), prev_sequence), batch_size_(batch) {
  filling_.reserve(batch_size_);
}

AuditVerifyPipeline::~AuditVerifyPipeline() {
  if (hashes_.valid()) hashes_.wait();
}

bool AuditVerifyPipeline::Collect() {
  if (!hashes_.valid()) return verifier_.result().ok;
  const std::vector<std::string> hashes = hashes_.get();
  for (size_t i = 0; i < hashing_.size(); ++i) {
    if (!verifier_.Feed(hashing_[i], hashes[i])) return false;
  }
  return true;
}

bool AuditVerifyPipeline::Add(AuditEntry& e) {
  if (filled_ < filling_.size()) {
    std::swap(filling_[filled_], e);
  } else {
    filling_.push_back(std::move(e));
  }
  if (++filled_ < batch_size_) return true;
  if (!Collect()) return false;
  hashing_.swap(filling_);
  filled_ = 0;
  hashes_ = std::async(std::launch::async, [this] { return HashAll(hashing_); });
  return true;
}

const AuditVerifyResult& AuditVerifyPipeline::Finish() {
  if (Collect()) {
    filling_.resize(filled_);
    const std::vector<std::string> hashes = HashAll(filling_);
    for (size_t i = 0; i < filling_.size(); ++i) {
      if (!verifier_.Feed(filling_[i], hashes[i])) break;
    }
  }
  filling_.clear();
  filled_ = 0;
  return verifier_.result();
}

}  // namespace mlops::registry
