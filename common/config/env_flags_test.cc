#include "common/config/env_flags.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, envtest_port, 7, "test flag");
ABSL_FLAG(std::string, envtest_name, "default", "test flag");
ABSL_FLAG(bool, envtest_enabled, false, "test flag");

namespace mlops {
namespace {

using ::testing::HasSubstr;

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

// argv for ParseFlagsWithEnv, owning its strings.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    for (std::string& a : args_) ptrs_.push_back(a.data());
    ptrs_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(args_.size()); }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<char*> ptrs_;
};

TEST(EnvFlagsTest, EnvVarNameIsPrefixPlusUpperCaseName) {
  EXPECT_EQ(EnvVarForFlag("database_url"), "MLOPS_DATABASE_URL");
  EXPECT_EQ(EnvVarForFlag("grpc_port", "X_"), "X_GRPC_PORT");
  EXPECT_EQ(FlagAndEnv("grpc_port"), "--grpc_port (env MLOPS_GRPC_PORT)");
}

TEST(EnvFlagsTest, EnvironmentSetsFlagsWhenCommandLineDoesNot) {
  absl::FlagSaver saver;
  ScopedEnv port("MLOPS_ENVTEST_PORT", "8123");
  ScopedEnv name("MLOPS_ENVTEST_NAME", "from-env");
  ScopedEnv enabled("MLOPS_ENVTEST_ENABLED", "true");
  Argv args({"prog", "positional"});
  const std::vector<char*> rest = ParseFlagsWithEnv(args.argc(), args.argv());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_port), 8123);
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_name), "from-env");
  EXPECT_TRUE(absl::GetFlag(FLAGS_envtest_enabled));
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_STREQ(rest[1], "positional");
}

TEST(EnvFlagsTest, CommandLineOverridesEnvironment) {
  absl::FlagSaver saver;
  ScopedEnv port("MLOPS_ENVTEST_PORT", "8123");
  ScopedEnv name("MLOPS_ENVTEST_NAME", "from-env");
  Argv args({"prog", "--envtest_port=9000"});
  ParseFlagsWithEnv(args.argc(), args.argv());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_port), 9000);
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_name), "from-env");
}

TEST(EnvFlagsTest, UnsetAndEmptyVariablesKeepDefaults) {
  absl::FlagSaver saver;
  ::unsetenv("MLOPS_ENVTEST_PORT");
  ScopedEnv name("MLOPS_ENVTEST_NAME", "");
  ASSERT_TRUE(ApplyEnvToFlags().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_port), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_name), "default");
}

TEST(EnvFlagsTest, OtherPrefixIsHonoured) {
  absl::FlagSaver saver;
  ScopedEnv port("OTHER_ENVTEST_PORT", "4242");
  ScopedEnv mlops_port("MLOPS_ENVTEST_PORT", "1111");
  ASSERT_TRUE(ApplyEnvToFlags("OTHER_").ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_port), 4242);
}

TEST(EnvFlagsTest, BadValueNamesVariableAndFlag) {
  absl::FlagSaver saver;
  ScopedEnv port("MLOPS_ENVTEST_PORT", "eighty");
  ScopedEnv enabled("MLOPS_ENVTEST_ENABLED", "maybe");
  const absl::Status s = ApplyEnvToFlags();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(s.message());
  EXPECT_THAT(msg, HasSubstr("MLOPS_ENVTEST_PORT=\"eighty\""));
  EXPECT_THAT(msg, HasSubstr("--envtest_port"));
  EXPECT_THAT(msg, HasSubstr("MLOPS_ENVTEST_ENABLED=\"maybe\""));
  EXPECT_EQ(absl::GetFlag(FLAGS_envtest_port), 7);
}

TEST(EnvFlagsTest, AbseilOwnFlagsAreNotReadFromEnvironment) {
  absl::FlagSaver saver;
  // --flagfile pointing at a missing file would make parsing fail.
  ScopedEnv flagfile("MLOPS_FLAGFILE", "/nonexistent/flags.txt");
  ScopedEnv undefok("MLOPS_UNDEFOK", "everything");
  EXPECT_TRUE(ApplyEnvToFlags().ok());
  EXPECT_EQ(absl::FindCommandLineFlag("flagfile")->CurrentValue(), "");
  EXPECT_EQ(absl::FindCommandLineFlag("undefok")->CurrentValue(), "");
}

TEST(EnvFlagsDeathTest, BadEnvironmentExitsWithMessage) {
  ScopedEnv port("MLOPS_ENVTEST_PORT", "eighty");
  Argv args({"prog"});
  EXPECT_EXIT(ParseFlagsWithEnv(args.argc(), args.argv()), ::testing::ExitedWithCode(1),
              "MLOPS_ENVTEST_PORT=\"eighty\": not a valid value for --envtest_port");
}

TEST(EnvFlagsDeathTest, UnknownFlagExitsWithMessage) {
  Argv args({"prog", "--no_such_flag=1"});
  EXPECT_EXIT(ParseFlagsWithEnv(args.argc(), args.argv()), ::testing::ExitedWithCode(1),
              "Unknown command line flag 'no_such_flag'");
}

TEST(EnvFlagsDeathTest, BadCommandLineValueExitsWithMessage) {
  Argv args({"prog", "--envtest_port=abc"});
  EXPECT_EXIT(ParseFlagsWithEnv(args.argc(), args.argv()), ::testing::ExitedWithCode(1),
              "Illegal value 'abc' specified for flag 'envtest_port'");
}

}  // namespace
}  // namespace mlops
