// FileArtifactStore: the ArtifactStore contract, its on-disk layout, and
// importing "file://" references (artifact_import.h).
#include "services/registry/file_artifact_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "services/registry/artifact_import.h"
#include "services/registry/artifact_store_contract.h"
#include "services/registry/artifact_store_flag.h"

namespace mlops::registry {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FileEnv : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/registry-artifacts-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    MLOPS_ASSERT_OK_AND_ASSIGN(store_, FileArtifactStore::Create(dir_ + "/store"));
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ArtifactStore* store() { return store_.get(); }
  void Corrupt(const std::string& sha256) {
    const std::string path = store_->PathOf(sha256);
    ::chmod(path.c_str(), 0644);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "tampered";
  }
  int64_t StoredCount() {
    int64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir_ + "/store")) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }
  std::string WriteFile(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string dir_;
  std::unique_ptr<FileArtifactStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(File, ArtifactStoreContract, ::testing::Types<FileEnv>);

using FileArtifactStoreTest = FileEnv;

TEST_F(FileArtifactStoreTest, StoresUnderShardedContentAddressedPath) {
  const std::string sha = Sha256Hex("layout");
  ASSERT_THAT(PutArtifact(*store_, sha, "layout").status(), IsOk());
  const std::string expected = dir_ + "/store/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2);
  EXPECT_EQ(store_->PathOf(sha), expected);
  std::ifstream in(expected, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, "layout");
  EXPECT_TRUE(fs::is_empty(dir_ + "/store/tmp"));
  EXPECT_EQ(store_->Describe(), "file:" + dir_ + "/store");
}

TEST_F(FileArtifactStoreTest, RelativeRootIsInvalidArgument) {
  EXPECT_THAT(FileArtifactStore::Create("relative/dir").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
}

TEST_F(FileArtifactStoreTest, SecondStoreOnTheSameDirectorySeesTheArtifacts) {
  const std::string sha = Sha256Hex("shared");
  ASSERT_THAT(PutArtifact(*store_, sha, "shared").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(std::unique_ptr<FileArtifactStore> other,
                             FileArtifactStore::Create(dir_ + "/store/"));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string back, ReadWholeArtifact(*other, sha));
  EXPECT_EQ(back, "shared");
}

TEST(ArtifactStoreFlagTest, ParsesPostgresAndFileAndRejectsOthers) {
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactStoreSpec pg, ParseArtifactStoreFlag("postgres"));
  EXPECT_FALSE(pg.file);
  MLOPS_ASSERT_OK_AND_ASSIGN(ArtifactStoreSpec file, ParseArtifactStoreFlag("file:/var/models"));
  EXPECT_TRUE(file.file);
  EXPECT_EQ(file.root, "/var/models");
  EXPECT_THAT(ParseArtifactStoreFlag("file:relative").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--artifact_store")));
  EXPECT_THAT(ParseArtifactStoreFlag("s3://bucket").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<std::string> dirs, ParseImportDirsFlag("/a, /b/c"));
  EXPECT_EQ(dirs, (std::vector<std::string>{"/a", "/b/c"}));
  EXPECT_THAT(ParseImportDirsFlag("/a,rel").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rel")));
}

class ArtifactImportTest : public FileEnv {
 protected:
  absl::StatusOr<StoredArtifact> Import(const std::string& uri, const std::string& sha,
                                        int64_t size = 0) {
    ArtifactImportOptions o;
    o.allowed_dirs = {dir_ + "/exports"};
    return ImportFileArtifact(*store_, uri, sha, size, o, "header.artifact_reference.uri");
  }
};

TEST_F(ArtifactImportTest, ImportsVerifiedFileContentAddressed) {
  const std::string bytes = ArtifactStoreContract<FileEnv>::Big();
  const std::string path = WriteFile("exports/run-1/model.json", bytes);
  const std::string sha = Sha256Hex(bytes);
  MLOPS_ASSERT_OK_AND_ASSIGN(StoredArtifact a,
                             Import("file://" + path, sha, static_cast<int64_t>(bytes.size())));
  EXPECT_EQ(a.sha256, sha);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string back, ReadWholeArtifact(*store_, sha));
  EXPECT_TRUE(back == bytes);
}

TEST_F(ArtifactImportTest, MismatchMissingAndBadUrisNameTheField) {
  const std::string path = WriteFile("exports/model.json", "model");
  EXPECT_THAT(Import("file://" + path, Sha256Hex("other")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.artifact_reference.uri (" + path +
                                 "): artifact sha256 mismatch")));
  EXPECT_THAT(Import("file://" + path, Sha256Hex("model"), 9).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size mismatch")));
  EXPECT_THAT(Import("file://" + dir_ + "/exports/missing.json", Sha256Hex("x")).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("header.artifact_reference.uri: file")));
  EXPECT_THAT(Import("file://relative/model.json", Sha256Hex("x")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(Import("file://" + dir_ + "/exports/../secret", Sha256Hex("x")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"..\"")));
  EXPECT_THAT(Import("http://example/model.json", Sha256Hex("x")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not supported")));
  WriteFile("exports/sub/x", "x");
  EXPECT_THAT(Import("file://" + dir_ + "/exports/sub", Sha256Hex("x")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a regular file")));
  EXPECT_EQ(StoredCount(), 0);
}

TEST_F(ArtifactImportTest, FilesOutsideTheImportDirsAreRefusedEvenThroughSymlinks) {
  const std::string secret = WriteFile("secret/token", "s3cr3t");
  EXPECT_THAT(Import("file://" + secret, Sha256Hex("s3cr3t")).status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("outside")));
  WriteFile("exports/placeholder", "");
  fs::create_symlink(secret, dir_ + "/exports/link");
  EXPECT_THAT(Import("file://" + dir_ + "/exports/link", Sha256Hex("s3cr3t")).status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("outside")));
  ArtifactImportOptions none;
  EXPECT_THAT(ImportFileArtifact(*store_, "file://" + secret, Sha256Hex("s3cr3t"), 0, none,
                                 "header.artifact_reference.uri")
                  .status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("disabled")));
  EXPECT_EQ(StoredCount(), 0);
}

}  // namespace
}  // namespace mlops::registry
