#include "common/config/file_util.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "mlops_file_util_test_" + name;
}

TEST(FileUtilTest, WritesAtomicallyAndReadsBack) {
  const std::string path = TempPath("a.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "hello\nworld").ok());
  const absl::StatusOr<std::string> text = ReadFileToString(path);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "hello\nworld");
  EXPECT_TRUE(CheckReadableFile(path).ok());
}

TEST(FileUtilTest, MissingFileIsNotFoundNamingThePath) {
  const absl::Status s = CheckReadableFile("/nonexistent/dir/tokens.txt");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("/nonexistent/dir/tokens.txt"));
  EXPECT_EQ(ReadFileToString("/nonexistent/x").status().code(), absl::StatusCode::kNotFound);
}

TEST(FileUtilTest, DirectoryIsNotARegularFile) {
  const absl::Status s = CheckReadableFile("/tmp");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("not a regular file"));
}

TEST(FileUtilTest, WriteIntoMissingDirectoryFails) {
  EXPECT_EQ(WriteFileAtomically("/nonexistent/dir/x", "y").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mlops
