#include "common/peers/peer_channel.h"

#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "grpcpp/test/client_context_test_peer.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using std::chrono::milliseconds;

std::multimap<std::string, std::string> SentMetadata(grpc::ClientContext* context) {
  return grpc::testing::ClientContextTestPeer(context).GetSendInitialMetadata();
}

TEST(PeerChannelTest, ContextCarriesDeadlineAndBearerToken) {
  PeerChannelOptions options;
  options.address = "127.0.0.1:1";
  options.bearer_token = "tok-123";
  options.default_deadline = milliseconds(2500);
  absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create("registry", options);
  ASSERT_TRUE(peer.ok()) << peer.status();
  ASSERT_NE((*peer)->channel(), nullptr);

  const auto before = std::chrono::system_clock::now();
  std::unique_ptr<grpc::ClientContext> context = (*peer)->NewContext();
  const auto after = std::chrono::system_clock::now();
  EXPECT_GE(context->deadline(), before + milliseconds(2500));
  EXPECT_LE(context->deadline(), after + milliseconds(2500));
  const auto md = SentMetadata(context.get());
  ASSERT_EQ(md.count("authorization"), 1u);
  EXPECT_EQ(md.find("authorization")->second, "Bearer tok-123");

  std::unique_ptr<grpc::ClientContext> shorter = (*peer)->NewContext(milliseconds(100));
  EXPECT_LE(shorter->deadline(), std::chrono::system_clock::now() + milliseconds(100));
}

TEST(PeerChannelTest, NoTokenMeansNoAuthorizationMetadata) {
  PeerChannelOptions options;
  options.address = "localhost:50051";
  absl::StatusOr<std::unique_ptr<PeerChannel>> peer = PeerChannel::Create("features", options);
  ASSERT_TRUE(peer.ok()) << peer.status();
  std::unique_ptr<grpc::ClientContext> context = (*peer)->NewContext();
  EXPECT_EQ(SentMetadata(context.get()).count("authorization"), 0u);
}

TEST(PeerChannelTest, RejectsBadOptions) {
  PeerChannelOptions options;
  options.address = "registry";
  EXPECT_THAT(std::string(PeerChannel::Create("registry", options).status().message()),
              HasSubstr("peer registry address: \"registry\" has no port"));
  options.address = "127.0.0.1:5";
  options.default_deadline = milliseconds(0);
  EXPECT_EQ(PeerChannel::Create("registry", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.default_deadline = milliseconds(10);
  options.tls.ca_file = "/nonexistent/ca.pem";
  EXPECT_THAT(std::string(PeerChannel::Create("registry", options).status().message()),
              HasSubstr("/nonexistent/ca.pem"));
}

TEST(PeerChannelsTest, OnlyConfiguredPeersExist) {
  ServerConfig config;
  config.peers.address(PeerService::kRegistry) = "127.0.0.1:50054";
  config.peers.token = "t";
  config.peers.deadline_ms = 1234;
  absl::StatusOr<std::unique_ptr<PeerChannels>> peers = PeerChannels::Create(config);
  ASSERT_TRUE(peers.ok()) << peers.status();
  EXPECT_TRUE((*peers)->has(PeerService::kRegistry));
  absl::StatusOr<const PeerChannel*> registry = (*peers)->Get(PeerService::kRegistry);
  ASSERT_TRUE(registry.ok());
  EXPECT_EQ((*registry)->name(), "registry");
  EXPECT_EQ((*registry)->default_deadline(), milliseconds(1234));

  EXPECT_FALSE((*peers)->has(PeerService::kTraining));
  const absl::Status missing = (*peers)->Get(PeerService::kTraining).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("set --training_addr (env MLOPS_TRAINING_ADDR)"));
}

TEST(PeerChannelsTest, BadAddressNamesFlag) {
  ServerConfig config;
  config.peers.address(PeerService::kGateway) = "gateway:notaport";
  const absl::Status s = PeerChannels::Create(config).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("--gateway_addr (env MLOPS_GATEWAY_ADDR)"));
}

}  // namespace
}  // namespace mlops
