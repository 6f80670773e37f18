#include "common/config/server_config.h"

#include <string>

#include "common/config/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string WriteTemp(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "mlops_server_config_test_" + name;
  EXPECT_TRUE(WriteFileAtomically(path, contents).ok());
  return path;
}

class ServerConfigTest : public ::testing::Test {
 protected:
  ServerConfigTest() {
    defaults_.service_name = "registry";
    defaults_.grpc_port = 50054;
    defaults_.metrics_port = 9094;
    config_.database_url = "host=127.0.0.1 dbname=mlops";
    config_.auth_tokens_file = WriteTemp("tokens", "# none\n");
  }

  std::string ErrorOf(const ServerConfig& c) {
    const absl::StatusOr<ServerConfig> r = FinalizeServerConfig(c, defaults_);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  }

  ServerDefaults defaults_;
  ServerConfig config_;
};

TEST_F(ServerConfigTest, FillsServiceDefaults) {
  const absl::StatusOr<ServerConfig> c = FinalizeServerConfig(config_, defaults_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->service_name, "registry");
  EXPECT_EQ(c->grpc_port, 50054);
  EXPECT_EQ(c->metrics_port, 9094);
  EXPECT_EQ(c->grpc_host, "0.0.0.0");
}

TEST_F(ServerConfigTest, ExplicitPortZeroMeansAnyFreePort) {
  config_.grpc_port = 0;
  config_.metrics_port = 0;
  const absl::StatusOr<ServerConfig> c = FinalizeServerConfig(config_, defaults_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_port, 0);
  EXPECT_EQ(c->metrics_port, 0);
}

TEST_F(ServerConfigTest, BadPortNamesFlagAndEnv) {
  config_.grpc_port = 70000;
  EXPECT_THAT(ErrorOf(config_),
              HasSubstr("--grpc_port (env MLOPS_GRPC_PORT): 70000 is out of range 0..65535"));
  config_.grpc_port = 50000;
  config_.metrics_port = 50000;
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--metrics_port (env MLOPS_METRICS_PORT): 50000 is also"));
}

TEST_F(ServerConfigTest, PoolSizeBounds) {
  config_.pg_pool_size = 0;
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--pg_pool_size (env MLOPS_PG_POOL_SIZE): 0 is out of range 1..256"));
  config_.pg_pool_size = 257;
  EXPECT_THAT(ErrorOf(config_), HasSubstr("257 is out of range 1..256"));
}

TEST_F(ServerConfigTest, BusyPollBounds) {
  config_.grpc_busy_poll_us = -1;
  EXPECT_THAT(ErrorOf(config_),
              HasSubstr("--grpc_busy_poll_us (env MLOPS_GRPC_BUSY_POLL_US): -1 is out of range "
                        "0..100000"));
  config_.grpc_busy_poll_us = 50;
  EXPECT_TRUE(FinalizeServerConfig(config_, defaults_).ok());
}

TEST_F(ServerConfigTest, MalformedDsnNamesFlagAndEnvWithoutEchoingIt) {
  config_.database_url = "host=db password=hunter2 bogus=1";
  const std::string msg = ErrorOf(config_);
  EXPECT_THAT(msg, AllOf(HasSubstr("--database_url (env MLOPS_DATABASE_URL)"),
                         HasSubstr("invalid connection option \"bogus\"")));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(ServerConfigTest, DatabaseRequiredUnlessServiceSaysOtherwise) {
  config_.database_url = "";
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--database_url (env MLOPS_DATABASE_URL): required"));
  defaults_.database_required = false;
  EXPECT_TRUE(FinalizeServerConfig(config_, defaults_).ok());
}

TEST_F(ServerConfigTest, MissingTokenFileIsAnErrorUnlessAuthDisabled) {
  config_.auth_tokens_file = "/nonexistent/tokens.txt";
  EXPECT_THAT(ErrorOf(config_),
              AllOf(HasSubstr("--auth_tokens_file (env MLOPS_AUTH_TOKENS_FILE)"),
                    HasSubstr("/nonexistent/tokens.txt")));
  config_.auth_tokens_file = "";
  EXPECT_THAT(ErrorOf(config_), HasSubstr("required unless --auth_disabled"));
  config_.auth_disabled = true;
  EXPECT_TRUE(FinalizeServerConfig(config_, defaults_).ok());
}

TEST_F(ServerConfigTest, TlsKeyWithoutCertIsAnError) {
  config_.tls.key_file = WriteTemp("key.pem", "key");
  EXPECT_THAT(ErrorOf(config_),
              HasSubstr("--tls_cert_file (env MLOPS_TLS_CERT_FILE): required when --tls_key_file"));
}

TEST_F(ServerConfigTest, TlsFilesMustExistAndClientCaNeedsCert) {
  config_.tls.cert_file = "/nonexistent/cert.pem";
  config_.tls.key_file = WriteTemp("key2.pem", "key");
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--tls_cert_file (env MLOPS_TLS_CERT_FILE): cannot open /nonexistent/cert.pem"));
  config_.tls = {};
  config_.tls.client_ca_file = WriteTemp("ca.pem", "ca");
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--tls_client_ca_file (env MLOPS_TLS_CLIENT_CA_FILE): mTLS needs"));
}

TEST_F(ServerConfigTest, ReportsEveryProblemAtOnce) {
  config_.grpc_port = -7;
  config_.pg_pool_size = 1000;
  config_.log_level = "loud";
  const std::string msg = ErrorOf(config_);
  EXPECT_THAT(msg, HasSubstr("--grpc_port"));
  EXPECT_THAT(msg, HasSubstr("--pg_pool_size"));
  EXPECT_THAT(msg, HasSubstr("--log_level (env MLOPS_LOG_LEVEL): unknown log level \"loud\""));
}

TEST_F(ServerConfigTest, PeerAddressesAreChecked) {
  config_.peers.address(PeerService::kRegistry) = "registry";  // no port
  config_.peers.address(PeerService::kFeatures) = "dns:///features.mlops:50052";
  config_.peers.address(PeerService::kGateway) = "[::1]:50055";
  const std::string msg = ErrorOf(config_);
  EXPECT_THAT(msg, HasSubstr("--registry_addr (env MLOPS_REGISTRY_ADDR): \"registry\" has no port"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("features_addr")));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("gateway_addr")));
}

TEST_F(ServerConfigTest, PeerTokenIsReadFromFile) {
  config_.peers.token_file = WriteTemp("peer_token", "  abc123  \nignored\n");
  const absl::StatusOr<ServerConfig> c = FinalizeServerConfig(config_, defaults_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->peers.token, "abc123");
}

TEST_F(ServerConfigTest, PeerTokenProblems) {
  config_.peers.token_file = WriteTemp("empty_token", "\n");
  EXPECT_THAT(ErrorOf(config_), HasSubstr("--peer_token_file (env MLOPS_PEER_TOKEN_FILE)"));
  config_.peers.token = "literal";
  EXPECT_THAT(ErrorOf(config_), HasSubstr("not both"));
}

TEST_F(ServerConfigTest, PeerTlsPresentsServerCertificateAsClientCertificate) {
  config_.tls.cert_file = WriteTemp("c.pem", "c");
  config_.tls.key_file = WriteTemp("k.pem", "k");
  config_.peers.tls.ca_file = WriteTemp("pca.pem", "ca");
  const absl::StatusOr<ServerConfig> c = FinalizeServerConfig(config_, defaults_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->peers.tls.cert_file, config_.tls.cert_file);
  EXPECT_EQ(c->peers.tls.key_file, config_.tls.key_file);
}

TEST(CheckPeerAddressTest, AcceptsHostPortAndSchemes) {
  EXPECT_TRUE(CheckPeerAddress("127.0.0.1:50051").ok());
  EXPECT_TRUE(CheckPeerAddress("registry.mlops.svc:50054").ok());
  EXPECT_TRUE(CheckPeerAddress("unix:/tmp/x.sock").ok());
  EXPECT_FALSE(CheckPeerAddress("host:0").ok());
  EXPECT_FALSE(CheckPeerAddress(":50051").ok());
  EXPECT_FALSE(CheckPeerAddress("::1:50051").ok());
  EXPECT_FALSE(CheckPeerAddress("host:http").ok());
}

TEST(ParseLogLevelTest, KnownNames) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
}

}  // namespace
}  // namespace mlops
