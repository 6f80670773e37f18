#include "common/config/server_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/reflection.h"
#include "common/config/env_flags.h"
#include "common/config/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

void SetFlag(const char* name, const std::string& value) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  ASSERT_NE(flag, nullptr) << name;
  std::string error;
  ASSERT_TRUE(flag->ParseFrom(value, &error)) << error;
}

TEST(ServerFlagsTest, EnvironmentReachesServerConfig) {
  absl::FlagSaver saver;
  const std::string tokens = ::testing::TempDir() + "mlops_server_flags_test_tokens";
  ASSERT_TRUE(WriteFileAtomically(tokens, "").ok());
  ::setenv("MLOPS_DATABASE_URL", "postgresql://svc:pw@127.0.0.1:5432/mlops", 1);
  ::setenv("MLOPS_REGISTRY_ADDR", "127.0.0.1:50054", 1);
  ::setenv("MLOPS_PEER_TOKEN", "tok", 1);
  ::setenv("MLOPS_AUTH_TOKENS_FILE", tokens.c_str(), 1);
  const absl::Status env = ApplyEnvToFlags();
  ::unsetenv("MLOPS_DATABASE_URL");
  ::unsetenv("MLOPS_REGISTRY_ADDR");
  ::unsetenv("MLOPS_PEER_TOKEN");
  ::unsetenv("MLOPS_AUTH_TOKENS_FILE");
  ASSERT_TRUE(env.ok()) << env;

  ServerDefaults defaults;
  defaults.service_name = "training";
  defaults.grpc_port = 50053;
  defaults.metrics_port = 9093;
  const absl::StatusOr<ServerConfig> c = ReadServerConfig(defaults);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->database_url, "postgresql://svc:pw@127.0.0.1:5432/mlops");
  EXPECT_EQ(c->peers.address(PeerService::kRegistry), "127.0.0.1:50054");
  EXPECT_EQ(c->peers.token, "tok");
  EXPECT_EQ(c->grpc_port, 50053);
  EXPECT_EQ(c->metrics_port, 9093);
  EXPECT_EQ(c->pg_pool_size, 8);
}

TEST(ServerFlagsTest, FlagErrorsNameFlagAndEnv) {
  absl::FlagSaver saver;
  SetFlag("database_url", "host=127.0.0.1");
  SetFlag("auth_disabled", "true");
  SetFlag("grpc_port", "65536");
  const absl::StatusOr<ServerConfig> c = ReadServerConfig(ServerDefaults{});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("--grpc_port (env MLOPS_GRPC_PORT): 65536 is out of range"));
}

TEST(ServerFlagsTest, EveryPeerHasAnAddressFlag) {
  for (PeerService s : kAllPeerServices) {
    EXPECT_NE(absl::FindCommandLineFlag(PeerAddressFlag(s)), nullptr) << PeerAddressFlag(s);
  }
}

}  // namespace
}  // namespace mlops
