#include "services/registry/artifact_store_flag.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace mlops::registry {

absl::StatusOr<ArtifactStoreSpec> ParseArtifactStoreFlag(const std::string& value) {
  ArtifactStoreSpec spec;
  if (value.empty() || value == "postgres") return spec;
  if (value.rfind("file:", 0) == 0 && value.size() > 6 && value[5] == '/') {
    spec.file = true;
    spec.root = value.substr(5);
    return spec;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--artifact_store: \"", value, "\" is neither \"postgres\" nor \"file:/absolute/dir\""));
}

absl::StatusOr<std::vector<std::string>> ParseImportDirsFlag(const std::string& value) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    std::string dir(absl::StripAsciiWhitespace(part));
    if (dir[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--artifact_import_dirs: \"", dir, "\" is not an absolute path"));
    }
    out.push_back(std::move(dir));
  }
  return out;
}

}  // namespace mlops::registry
