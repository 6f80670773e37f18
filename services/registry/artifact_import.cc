#include "services/registry/artifact_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace mlops::registry {
namespace {

constexpr size_t kChunk = size_t{1} << 20;

bool Under(const std::string& path, std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir == "/") return true;
  return absl::StartsWith(path, dir + "/");
}

bool UnderAny(const std::string& path, const std::vector<std::string>& dirs, bool resolve) {
  for (const std::string& d : dirs) {
    std::string dir = d;
    if (resolve) {
      char buf[PATH_MAX];
      if (::realpath(d.c_str(), buf) == nullptr) continue;
      dir = buf;
    }
    if (Under(path, dir)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> FilePathFromUri(const std::string& uri, const std::string& field) {
  constexpr char kScheme[] = "file://";
  if (!absl::StartsWith(uri, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", uri, "\" is not supported (use \"file:///absolute/path\" or \"sha256:<hex>\")"));
  }
  std::string path = uri.substr(sizeof(kScheme) - 1);
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", uri, "\" must name an absolute path (file:///...)"));
  }
  const std::string probe = path + "/";
  if (absl::StrContains(probe, "/./") || absl::StrContains(probe, "/../") ||
      path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", uri, "\" must not contain \".\" or \"..\" segments"));
  }
  return path;
}

absl::StatusOr<StoredArtifact> ImportFileArtifact(ArtifactStore& store, const std::string& uri,
                                                  const std::string& sha256, int64_t size_bytes,
                                                  const ArtifactImportOptions& options,
                                                  const std::string& field) {
  MLOPS_ASSIGN_OR_RETURN(std::string path, FilePathFromUri(uri, field));
  if (options.allowed_dirs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        field, ": file references are disabled on this registry (start it with "
               "--artifact_import_dirs)"));
  }
  const std::string denied = absl::StrCat(field, ": ", path,
                                          " is outside the registry's artifact import "
                                          "directories");
  if (!UnderAny(path, options.allowed_dirs, false)) return absl::PermissionDeniedError(denied);
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat(field, ": file ", path, " not found"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot resolve ", path, ": ", std::strerror(errno)));
  }
  if (!UnderAny(resolved, options.allowed_dirs, true)) return absl::PermissionDeniedError(denied);
  const int fd = ::open(resolved, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": cannot open ", path, ": ", std::strerror(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", path, " is not a regular file"));
  }
  MLOPS_ASSIGN_OR_RETURN(std::unique_ptr<ArtifactWriter> w,
                         store.Begin(sha256, size_bytes, options.max_bytes));
  std::string buf(kChunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": reading ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    MLOPS_RETURN_IF_ERROR(w->Append(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  absl::StatusOr<StoredArtifact> out = w->Commit();
  if (!out.ok() && out.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(absl::StrCat(field, " (", path, "): ", out.status().message()));
  }
  return out;
}

}  // namespace mlops::registry
