#include "services/ingestion/version_hash.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "common/stats/byte_io.h"

namespace mlops::ingestion {
namespace {

constexpr size_t kFlushBytes = 64 * 1024;

struct Encoder {
  stats::ByteWriter* w;
  void operator()(std::monostate) const {}
  void operator()(int64_t v) const { w->I64(v); }
  void operator()(double v) const { w->U64(stats::CanonicalDoubleBits(v)); }
  void operator()(const std::string& s) const { w->LengthPrefixed(s); }
  void operator()(bool v) const { w->U8(v ? 1 : 0); }
  void operator()(Timestamp t) const { w->I64(t.micros); }
};

}  // namespace

void AppendCanonicalValue(const Value& value, std::string* out) {
  stats::ByteWriter w(out);
  w.U8(static_cast<uint8_t>(value.index()));
  std::visit(Encoder{&w}, value);
}

void AppendCanonicalRow(const Row& row, std::string* out) {
  stats::ByteWriter(out).U32(static_cast<uint32_t>(row.size()));
  for (const Value& v : row) AppendCanonicalValue(v, out);
}

VersionHasher::VersionHasher() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {}
VersionHasher::VersionHasher(VersionHasher&&) noexcept = default;
VersionHasher& VersionHasher::operator=(VersionHasher&&) noexcept = default;
VersionHasher::~VersionHasher() = default;

absl::StatusOr<VersionHasher> VersionHasher::Create(std::string_view dataset,
                                                    std::string_view parent_id, IngestMode mode,
                                                    const Schema& schema) {
  VersionHasher h;
  if (h.ctx_ == nullptr || EVP_DigestInit_ex(h.ctx_.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("cannot initialise SHA-256");
  }
  stats::ByteWriter w(&h.buffer_);
  w.Raw(std::string_view(kVersionHashMagic, sizeof kVersionHashMagic - 1));
  w.LengthPrefixed(dataset);
  w.LengthPrefixed(parent_id);
  w.U8(static_cast<uint8_t>(mode));
  w.U32(static_cast<uint32_t>(schema.columns.size()));
  for (const Column& c : schema.columns) {
    w.LengthPrefixed(c.name);
    w.U8(static_cast<uint8_t>(c.type));
  }
  return h;
}

absl::Status VersionHasher::Flush() {
  if (!buffer_.empty() && EVP_DigestUpdate(ctx_.get(), buffer_.data(), buffer_.size()) != 1) {
    return absl::InternalError("SHA-256 update failed");
  }
  buffer_.clear();
  return absl::OkStatus();
}

void VersionHasher::AddRow(const Row& row) {
  if (result_.has_value() || !error_.ok()) return;
  AppendCanonicalRow(row, &buffer_);
  ++row_count_;
  if (buffer_.size() >= kFlushBytes) error_ = Flush();
}

void VersionHasher::AddRows(const std::vector<Row>& rows) {
  for (const Row& row : rows) AddRow(row);
}

void VersionHasher::AddEncodedRows(std::string_view encoded, int64_t rows) {
  if (result_.has_value() || !error_.ok()) return;
  if (buffer_.size() + encoded.size() < kFlushBytes) {
    buffer_.append(encoded);
  } else {
    error_ = Flush();
    if (error_.ok() && EVP_DigestUpdate(ctx_.get(), encoded.data(), encoded.size()) != 1) {
      error_ = absl::InternalError("SHA-256 update failed");
    }
  }
  row_count_ += rows;
}

absl::StatusOr<std::string> VersionHasher::Finish() {
  if (result_.has_value()) return *result_;
  if (!error_.ok()) return error_;
  stats::ByteWriter(&buffer_).U64(static_cast<uint64_t>(row_count_));
  if (absl::Status s = Flush(); !s.ok()) return s;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1 || size != 32) {
    return absl::InternalError("SHA-256 final failed");
  }
  result_ = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
  return *result_;
}

}  // namespace mlops::ingestion
