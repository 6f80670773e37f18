#include "services/registry/file_artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace mlops::registry {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  const int err = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

absl::Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
  return Errno("mkdir", path);
}

absl::Status FsyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync", path);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Reads up to `max` bytes at the file's position (short only at the end).
absl::StatusOr<std::string> ReadSome(int fd, size_t max, const std::string& path) {
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    ssize_t n = ::read(fd, out.data() + got, max - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// Hashes the whole open file; OK when it is `sha256`.
absl::Status VerifyFile(int fd, const std::string& sha256, const std::string& path) {
  Sha256Stream hash;
  if (::lseek(fd, 0, SEEK_SET) < 0) return Errno("lseek", path);
  for (;;) {
    MLOPS_ASSIGN_OR_RETURN(std::string chunk, ReadSome(fd, size_t{1} << 20, path));
    if (chunk.empty()) break;
    hash.Update(chunk);
  }
  if (hash.FinishHex() != sha256) {
    return absl::DataLossError(
        absl::StrCat("stored artifact ", sha256, " no longer hashes to it (", path, ")"));
  }
  return absl::OkStatus();
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes to <root>/tmp/upload-XXXXXX; Commit renames it into place.
class FileArtifactWriter final : public ArtifactWriter {
 public:
  FileArtifactWriter(const FileArtifactStore* store, std::string root, int fd,
                     std::string tmp_path, UploadCheck check)
      : store_(store), root_(std::move(root)), fd_(fd), tmp_path_(std::move(tmp_path)),
        check_(std::move(check)) {}
  ~FileArtifactWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  }

  absl::Status Append(std::string_view chunk) override {
    MLOPS_RETURN_IF_ERROR(check_.Append(chunk));
    return WriteAll(fd_, chunk, tmp_path_);
  }

  absl::StatusOr<StoredArtifact> Commit() override {
    MLOPS_RETURN_IF_ERROR(check_.Finish());
    StoredArtifact out{check_.sha256(), check_.received()};
    const std::string final_path = store_->PathOf(out.sha256);
    // Deduplicated: an intact stored copy stays; a damaged one is replaced.
    int existing = ::open(final_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (existing >= 0) {
      absl::Status intact = VerifyFile(existing, out.sha256, final_path);
      ::close(existing);
      if (intact.ok()) return out;
    }
    if (::fsync(fd_) != 0) return Errno("fsync", tmp_path_);
    ::close(fd_);
    fd_ = -1;
    const std::string dir = final_path.substr(0, final_path.rfind('/'));
    MLOPS_RETURN_IF_ERROR(MakeDir(dir));
    if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) return Errno("rename", final_path);
    tmp_path_.clear();
    MLOPS_RETURN_IF_ERROR(FsyncDir(dir));
    return out;
  }

 private:
  const FileArtifactStore* store_;
  std::string root_;
  int fd_;
  std::string tmp_path_;
  UploadCheck check_;
};

class FileArtifactReader final : public ArtifactReader {
 public:
  FileArtifactReader(StoredArtifact info, int fd, std::string path)
      : info_(std::move(info)), fd_(fd), path_(std::move(path)) {}
  ~FileArtifactReader() override { ::close(fd_); }
  const StoredArtifact& info() const override { return info_; }
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    return ReadSome(fd_, max_bytes, path_);
  }

 private:
  StoredArtifact info_;
  int fd_;
  std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FileArtifactStore>> FileArtifactStore::Create(
    const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact store root \"", root, "\": must be an absolute path"));
  }
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  MLOPS_RETURN_IF_ERROR(MakeDir(r));
  MLOPS_RETURN_IF_ERROR(MakeDir(r + "/sha256"));
  MLOPS_RETURN_IF_ERROR(MakeDir(r + "/tmp"));
  if (::access((r + "/tmp").c_str(), W_OK) != 0) return Errno("no write access to", r + "/tmp");
  return std::unique_ptr<FileArtifactStore>(new FileArtifactStore(std::move(r)));
}

std::string FileArtifactStore::PathOf(const std::string& sha256) const {
  return absl::StrCat(root_, "/sha256/", sha256.substr(0, 2), "/", sha256.substr(2));
}

absl::StatusOr<std::unique_ptr<ArtifactWriter>> FileArtifactStore::Begin(
    const std::string& sha256, int64_t size_bytes, int64_t max_bytes) {
  std::string tmp = absl::StrCat(root_, "/tmp/upload-XXXXXX");
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Errno("mkstemp", tmp);
  ::fchmod(fd, 0644);
  return std::make_unique<FileArtifactWriter>(this, root_, fd, tmp,
                                              UploadCheck(sha256, size_bytes, max_bytes));
}

absl::StatusOr<std::optional<StoredArtifact>> FileArtifactStore::Stat(const std::string& sha256) {
  struct stat st;
  const std::string path = PathOf(sha256);
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<StoredArtifact>();
    return Errno("stat", path);
  }
  return std::optional<StoredArtifact>(StoredArtifact{sha256, static_cast<int64_t>(st.st_size)});
}

absl::StatusOr<std::unique_ptr<ArtifactReader>> FileArtifactStore::Open(const std::string& sha256,
                                                                        int64_t offset) {
  const std::string path = PathOf(sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("artifact ", sha256, " not found"));
    return Errno("open", path);
  }
  FdCloser guard{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno("fstat", path);
  MLOPS_RETURN_IF_ERROR(VerifyFile(fd, sha256, path));
  if (offset < 0 || offset > st.st_size) {
    return absl::InvalidArgumentError(absl::StrCat("offset: ", offset, " is past the artifact's ",
                                                   st.st_size, " bytes"));
  }
  if (::lseek(fd, offset, SEEK_SET) < 0) return Errno("lseek", path);
  guard.fd = -1;
  return std::unique_ptr<ArtifactReader>(std::make_unique<FileArtifactReader>(
      StoredArtifact{sha256, static_cast<int64_t>(st.st_size)}, fd, path));
}

}  // namespace mlops::registry
