#include "common/server/ports_file.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
}

TEST(PortsFileTest, FormatsOneLineOfJson) {
  EXPECT_EQ(FormatPortsJson({50051, 9090}), "{\"grpc_port\":50051,\"metrics_port\":9090}\n");
}

TEST(PortsFileTest, ParsesWhatItFormatsAndToleratesWhitespace) {
  MLOPS_ASSERT_OK_AND_ASSIGN(ServicePorts ports, ParsePortsJson(FormatPortsJson({1, 65535})));
  EXPECT_EQ(ports.grpc_port, 1);
  EXPECT_EQ(ports.metrics_port, 65535);
  MLOPS_ASSERT_OK_AND_ASSIGN(ports,
                             ParsePortsJson("{ \"metrics_port\" : 7,\n \"grpc_port\": 8 }"));
  EXPECT_EQ(ports.grpc_port, 8);
  EXPECT_EQ(ports.metrics_port, 7);
}

TEST(PortsFileTest, RejectsMissingKeysAndBadPorts) {
  EXPECT_THAT(ParsePortsJson("{\"grpc_port\":1}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("metrics_port")));
  EXPECT_THAT(ParsePortsJson("{\"grpc_port\":0,\"metrics_port\":1}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grpc_port")));
  EXPECT_THAT(ParsePortsJson("{\"grpc_port\":70000,\"metrics_port\":1}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePortsJson("{\"grpc_port\":\"1\",\"metrics_port\":1}"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParsePortsJson(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PortsFileTest, WritesAtomicallyAndReadsBack) {
  const std::string path = TempPath("ports_roundtrip.json");
  MLOPS_ASSERT_OK(WritePortsFile(path, {1234, 5678}));
  MLOPS_ASSERT_OK_AND_ASSIGN(ServicePorts ports, ReadPortsFile(path));
  EXPECT_EQ(ports.grpc_port, 1234);
  EXPECT_EQ(ports.metrics_port, 5678);
  // Overwrites an existing file; leaves no temporary file behind.
  MLOPS_ASSERT_OK(WritePortsFile(path, {1, 2}));
  MLOPS_ASSERT_OK_AND_ASSIGN(ports, ReadPortsFile(path));
  EXPECT_EQ(ports.grpc_port, 1);
  EXPECT_FALSE(std::ifstream(path + ".tmp." + std::to_string(getpid())).good());
  std::remove(path.c_str());
}

TEST(PortsFileTest, MissingFileIsNotFoundAndUnwritableDirFails) {
  EXPECT_THAT(ReadPortsFile(TempPath("does_not_exist.json")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(WritePortsFile("/nonexistent-dir/ports.json", {1, 2}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace mlops
