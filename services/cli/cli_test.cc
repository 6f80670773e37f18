#include <sstream>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/cli/args.h"
#include "services/cli/cli_config.h"
#include "services/cli/table.h"

namespace mlops::cli {
namespace {

using ::testing::HasSubstr;

TEST(CliConfigTest, ParsesKeyValueLinesAndComments) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto settings,
                             ParseConfigFile("# c\n\nregistry_addr = 127.0.0.1:9\ntoken=abc\n", "f"));
  CliConfig config;
  ASSERT_THAT(ApplySettings(settings, config), IsOk());
  EXPECT_EQ(config.addresses.at("registry"), "127.0.0.1:9");
  EXPECT_EQ(config.token, "abc");
}

TEST(CliConfigTest, RejectsMalformedLinesWithLineNumber) {
  EXPECT_THAT(ParseConfigFile("token=x\nnot a setting\n", "my.conf"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("my.conf line 2")));
}

TEST(CliConfigTest, RejectsUnknownKeysAndBadTimeouts) {
  CliConfig config;
  EXPECT_THAT(ApplySettings({{"colour", "red"}}, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("colour")));
  EXPECT_THAT(ApplySettings({{"timeout_ms", "-5"}}, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout_ms")));
  EXPECT_THAT(ApplySettings({{"token_file", "/nonexistent/token"}}, config),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("token_file")));
}

TEST(ArgsTest, SplitsOptionsAndPositionals) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto args, ParseCommandArgs({"a", "--wait=5s", "--all", "b"},
                                                         {"wait", "all"}));
  EXPECT_THAT(args.positional, ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(args.options.at("wait"), "5s");
  EXPECT_EQ(args.options.at("all"), "");
  MLOPS_ASSERT_OK_AND_ASSIGN(absl::Duration wait, DurationOption(args, "wait", absl::Seconds(1)));
  EXPECT_EQ(wait, absl::Seconds(5));
}

TEST(ArgsTest, RejectsUnknownOptionsAndBadDurations) {
  EXPECT_THAT(ParseCommandArgs({"--bogus"}, {"wait"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--bogus")));
  MLOPS_ASSERT_OK_AND_ASSIGN(auto args, ParseCommandArgs({"--wait=soon"}, {"wait"}));
  EXPECT_THAT(DurationOption(args, "wait", absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--wait")));
}

TEST(TableTest, AlignsColumnsByDisplayWidth) {
  Table table({"NAME", "VALUE"});
  table.AddRow({"ä", "1"});
  table.AddRow({"long name", "2"});
  std::ostringstream out;
  table.Print(out);
  EXPECT_EQ(out.str(), "NAME       VALUE\nä          1\nlong name  2\n");
}

TEST(TableTest, EscapesJsonStrings) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace mlops::cli
