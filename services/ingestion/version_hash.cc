#include "services/ingestion/version_hash.h"

#include <openssl/evp.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "common/stats/byte_io.h"

namespace mlops::ingestion {
namespace {

constexpr size_t kFlushBytes = 64 * 1024;

// The canonical encoding (version_hash.h), written into a buffer sized once
// per value or row: far cheaper than a byte-at-a-time writer on the hot path.
char* PutLe(char* p, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return p + width;
}

size_t EncodedSize(const Value& v) {
  switch (v.index()) {
    case 0: return 1;
    case 3: return 1 + 4 + std::get<std::string>(v).size();
    case 4: return 2;
    default: return 9;  // int64, double, timestamp
  }
}

char* Put(const Value& v, char* p) {
  *p++ = static_cast<char>(v.index());
  switch (v.index()) {
    case 1: return PutLe(p, static_cast<uint64_t>(std::get<int64_t>(v)), 8);
    case 2: return PutLe(p, stats::CanonicalDoubleBits(std::get<double>(v)), 8);
    case 3: {
      const std::string& s = std::get<std::string>(v);
      p = PutLe(p, static_cast<uint32_t>(s.size()), 4);
      if (!s.empty()) std::memcpy(p, s.data(), s.size());
      return p + s.size();
    }
    case 4: *p = std::get<bool>(v) ? 1 : 0; return p + 1;
    case 5: return PutLe(p, static_cast<uint64_t>(std::get<Timestamp>(v).micros), 8);
    default: return p;  // NULL: the tag alone
  }
}

}  // namespace

void AppendCanonicalValue(const Value& value, std::string* out) {
  const size_t at = out->size();
  out->resize(at + EncodedSize(value));
  Put(value, out->data() + at);
}

void AppendCanonicalRow(const Row& row, std::string* out) {
  size_t size = 4;
  for (const Value& v : row) size += EncodedSize(v);
  const size_t at = out->size();
  out->resize(at + size);
  char* p = PutLe(out->data() + at, static_cast<uint32_t>(row.size()), 4);
  for (const Value& v : row) p = Put(v, p);
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
