#include "services/ingestion/csv_folder_reader.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace mlops::ingestion {
namespace {

constexpr size_t kReadBytes = 1 << 20;

std::string Join(const std::string& folder, const std::string& file) {
  return folder.back() == '/' ? folder + file : absl::StrCat(folder, "/", file);
}

// Incremental sha256 (OpenSSL EVP). Not thread-safe; one per file.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;

absl::StatusOr<FilePtr> Open(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return FilePtr(f, &std::fclose);
}

}  // namespace

absl::StatusOr<std::vector<CsvFileInfo>> ListCsvFiles(const std::string& folder,
                                                      const std::string& glob,
                                                      int64_t newest_mtime_micros,
                                                      size_t max_files) {
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("folder ", folder, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("folder ", folder, ": not a directory"));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(folder.c_str()), &::closedir);
  if (dir == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("folder ", folder, ": ", std::strerror(errno)));
  }
  std::vector<CsvFileInfo> out;
  // Bounded by the folder's entries.
  while (dirent* e = ::readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || ::fnmatch(glob.c_str(), name.c_str(), FNM_PERIOD) != 0) {
      continue;
    }
    struct stat fs;
    if (::stat(Join(folder, name).c_str(), &fs) != 0 || !S_ISREG(fs.st_mode)) continue;
    const int64_t mtime =
        static_cast<int64_t>(fs.st_mtim.tv_sec) * 1'000'000 + fs.st_mtim.tv_nsec / 1000;
    if (mtime > newest_mtime_micros) continue;
    out.push_back({name, static_cast<int64_t>(fs.st_size), mtime});
  }
  std::sort(out.begin(), out.end(),
            [](const CsvFileInfo& a, const CsvFileInfo& b) { return a.name < b.name; });
  if (out.size() > max_files) out.resize(max_files);
  return out;
}

absl::StatusOr<std::string> Sha256OfFile(const std::string& path) {
  MLOPS_ASSIGN_OR_RETURN(FilePtr f, Open(path));
  Sha256 hash;
  std::string buf(kReadBytes, '\0');
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) hash.Update(buf.data(), n);
  if (std::ferror(f.get())) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  return hash.HexDigest();
}

absl::StatusOr<std::optional<NextCsvFile>> ChooseNextCsvFile(
    const std::string& folder, const std::vector<CsvFileInfo>& files,
    const std::vector<IngestedFile>& taken) {
  std::set<std::tuple<std::string, int64_t, int64_t>> seen_stat;
  std::set<std::pair<std::string, std::string>> seen_hash;
  for (const IngestedFile& t : taken) {
    seen_stat.emplace(t.file, t.size_bytes, t.mtime_micros);
    seen_hash.emplace(t.file, t.sha256);
  }
  std::optional<NextCsvFile> next;
  for (const CsvFileInfo& f : files) {
    if (seen_stat.count({f.name, f.size_bytes, f.mtime_micros}) > 0) continue;
    if (next.has_value()) {
      next->more = true;
      break;
    }
    MLOPS_ASSIGN_OR_RETURN(std::string sha, Sha256OfFile(Join(folder, f.name)));
    if (seen_hash.count({f.name, sha}) > 0) continue;
    next = NextCsvFile{f, std::move(sha), false};
  }
  return next;
}

absl::StatusOr<std::string> ReadCsvFile(
    const std::string& folder, const std::string& file, const Schema& schema,
    const CsvOptions& options, int chunk_rows,
    const std::function<absl::Status(std::vector<Row>& rows)>& on_rows) {
  MLOPS_ASSIGN_OR_RETURN(FilePtr f, Open(Join(folder, file)));
  CsvReader reader(schema, options);
  Sha256 hash;
  std::string buf(kReadBytes, '\0');
  std::vector<Row> rows;
  auto located = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(file, " ", s.message()));
  };
  size_t n;
  // Bounded by the file's size.
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    hash.Update(buf.data(), n);
    // Feed in slices so that a chunk holds at most about chunk_rows rows.
    std::string_view rest(buf.data(), n);
    while (!rest.empty()) {
      const size_t slice = std::min<size_t>(rest.size(), 64 << 10);
      if (absl::Status s = reader.Feed(rest.substr(0, slice), &rows); !s.ok()) return located(s);
      rest.remove_prefix(slice);
      if (static_cast<int>(rows.size()) >= chunk_rows) {
        MLOPS_RETURN_IF_ERROR(on_rows(rows));
        rows.clear();
      }
    }
  }
  if (std::ferror(f.get())) return absl::FailedPreconditionError(absl::StrCat("cannot read ", file));
  if (absl::Status s = reader.Finish(&rows); !s.ok()) return located(s);
  if (!rows.empty()) MLOPS_RETURN_IF_ERROR(on_rows(rows));
  return hash.HexDigest();
}

}  // namespace mlops::ingestion
