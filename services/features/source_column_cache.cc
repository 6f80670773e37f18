#include "services/features/source_column_cache.h"

#include <malloc.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/ingestion_wire.h"

namespace mlops::features {
namespace {

size_t ColumnBytes(const ColumnVector& c) {
  size_t n = c.values.ints.capacity() * sizeof(int64_t) +
             c.values.doubles.capacity() * sizeof(double) + c.nulls.capacity();
  for (const std::string& s : c.values.strings) {
    n += sizeof(std::string) + (s.capacity() > 15 ? s.capacity() : 0);
  }
  return n;
}

}  // namespace

SourceColumnCache::SourceColumnCache(size_t max_bytes, std::chrono::milliseconds idle)
    : max_bytes_(max_bytes), idle_(idle), reaper_([this] { Reap(); }) {}

SourceColumnCache::~SourceColumnCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  reaper_.join();
}

void SourceColumnCache::Reap() {
  const auto period = std::max(std::chrono::milliseconds(1), idle_ / 10);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, period, [this] { return stopping_; });
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Version>> dropped;  // freed outside the lock
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& e = it->second;
      if (e.version.use_count() > 1) e.used = now;  // a read is using it
      if (now - e.used < idle_) {
        ++it;
        continue;
      }
      dropped.push_back(std::move(e.version));
      bytes_ -= e.bytes;
      lru_.erase(e.lru);
      entries_.erase(it++);
    }
    if (dropped.empty()) continue;
    lock.unlock();
    dropped.clear();
    malloc_trim(0);  // the columns were many small blocks: give the pages back
    lock.lock();
  }
}

std::shared_ptr<SourceColumnCache::Version> SourceColumnCache::Lookup(const std::string& key,
                                                                      const std::string& reader) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    it->second.used = std::chrono::steady_clock::now();
    return it->second.version;
  }
  if (readers_.size() >= kMaxReaders && readers_.find(key) == readers_.end()) readers_.clear();
  absl::flat_hash_set<std::string>& seen = readers_[key];
  seen.insert(reader);
  if (seen.size() < 2) return nullptr;  // one view so far: stream, keep nothing
  lru_.push_front(key);
  Entry e{std::make_shared<Version>(), 0, lru_.begin(), std::chrono::steady_clock::now()};
  std::shared_ptr<Version> v = e.version;
  entries_.emplace(key, std::move(e));
  return v;
}

bool SourceColumnCache::Account(const std::string& key, size_t added) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.bytes + added > max_bytes_) return false;
  it->second.bytes += added;
  it->second.used = std::chrono::steady_clock::now();
  bytes_ += added;
  // Drop the least recently used other versions beyond the bound (a reader
  // still holding one keeps it alive until it is done).
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    const std::string victim = lru_.back() == key ? *std::next(lru_.rbegin()) : lru_.back();
    auto v = entries_.find(victim);
    bytes_ -= v->second.bytes;
    lru_.erase(v->second.lru);
    entries_.erase(v);
  }
  return true;
}

void SourceColumnCache::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

absl::Status SourceColumnCache::Read(const IngestionClient& ingestion, const std::string& dataset,
                                     const std::string& version_id,
                                     const std::vector<std::string>& columns,
                                     const std::string& reader, const OnHeader& on_header,
                                     const OnBatch& on_batch) {
  const std::string key = absl::StrCat(dataset, "/", version_id);
  std::shared_ptr<Version> v = Lookup(key, reader);
  if (v == nullptr) {
    return ReadColumnar(
        ingestion, dataset, version_id, columns, 0,
        [&](const iv1::ReadHeader& header, const SourceSchema& schema) {
          return on_header(schema, header.row_count());
        },
        [&](ColumnBatch& batch, int64_t) { return on_batch(batch); });
  }
  std::lock_guard<std::mutex> lock(v->mu);
  std::vector<std::string> missing;
  for (const std::string& c : columns) {
    if (!v->columns.contains(c)) missing.push_back(c);
  }
  if (!missing.empty()) {
    absl::Status s = ReadMissing(ingestion, dataset, version_id, key, missing, v.get());
    if (!s.ok()) {
      if (v->columns.empty()) Forget(key);
      return s;
    }
  }
  // Every column asked is kept now: replay them chunk by chunk.
  SourceSchema schema;
  std::vector<const Column*> cols;
  for (const std::string& c : columns) {
    cols.push_back(v->columns.at(c).get());
    schema.columns.push_back(cols.back()->meta);
  }
  MLOPS_RETURN_IF_ERROR(on_header(schema, v->row_count));
  for (size_t k = 0; k < v->chunk_rows.size(); ++k) {
    ColumnBatch batch;
    batch.num_rows = v->chunk_rows[k];
    for (const Column* c : cols) batch.columns.push_back(c->chunks[k]);
    MLOPS_RETURN_IF_ERROR(on_batch(batch));
  }
  return absl::OkStatus();
}

absl::Status SourceColumnCache::ReadMissing(const IngestionClient& ingestion,
                                            const std::string& dataset,
                                            const std::string& version_id, const std::string& key,
                                            const std::vector<std::string>& missing, Version* v) {
  std::vector<Column> read(missing.size());
  std::vector<int64_t> chunk_rows;
  int64_t row_count = 0;
  MLOPS_RETURN_IF_ERROR(ReadColumnar(
      ingestion, dataset, version_id, missing, 0,
      [&](const iv1::ReadHeader& header, const SourceSchema& schema) -> absl::Status {
        if (schema.columns.size() != missing.size()) {
          return absl::InternalError("ingestion returned other columns than asked");
        }
        for (size_t i = 0; i < missing.size(); ++i) read[i].meta = schema.columns[i];
        row_count = header.row_count();
        return absl::OkStatus();
      },
      [&](ColumnBatch& batch, int64_t) -> absl::Status {
        chunk_rows.push_back(batch.num_rows);
        for (size_t i = 0; i < read.size(); ++i) {
          read[i].bytes += ColumnBytes(batch.columns[i]);
          read[i].chunks.push_back(std::move(batch.columns[i]));
        }
        return absl::OkStatus();
      }));
  if (!v->columns.empty() && (row_count != v->row_count || chunk_rows != v->chunk_rows)) {
    return absl::InternalError(absl::StrCat("dataset \"", dataset, "\" version ", version_id,
                                            " was read in different chunks"));
  }
  v->row_count = row_count;
  v->chunk_rows = std::move(chunk_rows);
  size_t added = 0;
  for (const Column& c : read) added += c.bytes;
  const bool keep = Account(key, added);
  // Not kept: this read still needs them, but the next one reads again.
  for (size_t i = 0; i < read.size(); ++i) {
    v->columns[missing[i]] = std::make_shared<const Column>(std::move(read[i]));
  }
  if (!keep) {
    Forget(key);  // the entry goes; this read's Version stays alive until it ends
  }
  return absl::OkStatus();
}

size_t SourceColumnCache::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

size_t SourceColumnCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace mlops::features
