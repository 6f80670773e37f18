#include "services/registry/audit_chain.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"

namespace mlops::registry {
namespace {

void Field(std::string* out, const std::string& v) {
  absl::StrAppend(out, v.size(), ":", v, ";");
}

}  // namespace

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

struct Sha256Hasher::Impl {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Hasher::Sha256Hasher() : impl_(new Impl) {
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  impl_->ctx = EVP_MD_CTX_new();
}

Sha256Hasher::~Sha256Hasher() {
  EVP_MD_CTX_free(impl_->ctx);
  EVP_MD_free(impl_->md);
  delete impl_;
}

std::string Sha256Hasher::Hex(const std::string& bytes) {
  if (impl_->md == nullptr || impl_->ctx == nullptr) return Sha256Hex(bytes);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex(impl_->ctx, impl_->md, nullptr);
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
  EVP_DigestFinal_ex(impl_->ctx, digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string CanonicalAuditEncoding(const AuditEntry& e) {
  std::string out;
  out.reserve(256 + e.before_json.size() + e.after_json.size() + e.details_json.size());
  Field(&out, "mlops-audit-v1");
  Field(&out, e.prev_hash);
  Field(&out, absl::StrCat(e.sequence));
  Field(&out, absl::StrCat(e.at_micros));
  Field(&out, e.principal);
  Field(&out, absl::StrCat(e.event_type));
  Field(&out, e.model);
  Field(&out, absl::StrCat(e.version));
  Field(&out, e.endpoint);
  Field(&out, e.request_id);
  Field(&out, e.before_json);
  Field(&out, e.after_json);
  Field(&out, e.reason);
  Field(&out, e.details_json);
  return out;
}

std::string ComputeAuditHash(const AuditEntry& e) { return Sha256Hex(CanonicalAuditEncoding(e)); }

AuditChainVerifier::AuditChainVerifier(std::string prev_hash, int64_t prev_sequence)
    : prev_hash_(std::move(prev_hash)), prev_sequence_(prev_sequence) {
  result_.head_hash = prev_hash_;
}

bool AuditChainVerifier::Feed(const AuditEntry& e) {
  if (!result_.ok) return false;
  return Feed(e, hasher_.Hex(CanonicalAuditEncoding(e)));
}

bool AuditChainVerifier::Feed(const AuditEntry& e, const std::string& computed) {
  if (!result_.ok) return false;
  auto broken = [&](AuditBreak kind, std::string expected, std::string actual) {
    result_.ok = false;
    result_.first_broken_sequence = e.sequence;
    result_.break_kind = kind;
    result_.expected_hash = std::move(expected);
    result_.actual_hash = std::move(actual);
    return false;
  };
  if (e.sequence != prev_sequence_ + 1) {
    return broken(AuditBreak::kSequenceGap, "", "");
  }
  if (e.prev_hash != prev_hash_) {
    return broken(AuditBreak::kPrevLinkMismatch, prev_hash_, e.prev_hash);
  }
  if (computed != e.entry_hash) {
    return broken(AuditBreak::kHashMismatch, computed, e.entry_hash);
  }
  ++result_.entries_checked;
  prev_hash_ = e.entry_hash;
  prev_sequence_ = e.sequence;
  result_.head_hash = prev_hash_;
  return true;
}

}  // namespace mlops::registry
