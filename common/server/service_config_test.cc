#include "common/server/service_config.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

TEST(ServiceRunOptionsFromConfigTest, CopiesEveryServerSetting) {
  ServerConfig config;
  config.service_name = "registry";
  config.grpc_host = "127.0.0.1";
  config.grpc_port = 50054;
  config.metrics_port = 9094;
  config.grpc_max_threads = 12;
  config.grpc_busy_poll_us = 40;
  config.grpc_max_message_bytes = 1 << 20;
  config.shutdown_grace_seconds = 7;
  config.ports_file = "/tmp/registry.ports.json";
  MLOPS_ASSERT_OK_AND_ASSIGN(ServiceRunOptions run, ServiceRunOptionsFromConfig(config));
  EXPECT_EQ(run.service_name, "registry");
  EXPECT_EQ(run.grpc.host, "127.0.0.1");
  EXPECT_EQ(run.grpc.port, 50054);
  EXPECT_EQ(run.grpc.max_threads, 12);
  EXPECT_EQ(run.grpc.busy_poll, absl::Microseconds(40));
  EXPECT_EQ(run.grpc.max_message_bytes, 1 << 20);
  EXPECT_EQ(run.grpc.shutdown_grace, absl::Seconds(7));
  EXPECT_NE(run.grpc.credentials, nullptr);  // plaintext credentials, explicitly
  EXPECT_EQ(run.metrics.host, "127.0.0.1");
  EXPECT_EQ(run.metrics.port, 9094);
  EXPECT_EQ(run.ports_file, "/tmp/registry.ports.json");
}

TEST(ServiceRunOptionsFromConfigTest, UnusableTlsFilesAreAnError) {
  ServerConfig config;
  config.service_name = "registry";
  config.tls.cert_file = "/nonexistent/cert.pem";
  config.tls.key_file = "/nonexistent/key.pem";
  EXPECT_THAT(ServiceRunOptionsFromConfig(config), ::testing::Not(IsOk()));
}

}  // namespace
}  // namespace mlops
