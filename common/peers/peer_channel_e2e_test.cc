// End to end on loopback: a real gRPC server whose handler calls the
// Authorizer, reached through PeerChannel, in plaintext, TLS and mTLS.

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "common/auth/authorizer.h"
#include "common/auth/testing/test_pki.h"
#include "common/auth/tls.h"
#include "common/auth/token.h"
#include "common/peers/peer_channel.h"
#include "common/status/grpc_status.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "mlopstest/echo/v1/echo.grpc.pb.h"

namespace mlops {
namespace {

using ::mlopstest::echo::v1::EchoRequest;
using ::mlopstest::echo::v1::EchoResponse;
using ::mlopstest::echo::v1::EchoService;
using ::testing::HasSubstr;

// Echo needs an editor; replies with the principal's name. Honours sleep_ms
// (bounded by the call's deadline) so deadlines can be tested.
class AuthEchoService final : public EchoService::Service {
 public:
  explicit AuthEchoService(const Authorizer* authorizer) : authorizer_(authorizer) {}

  grpc::Status Echo(grpc::ServerContext* context, const EchoRequest* request,
                    EchoResponse* response) override {
    absl::StatusOr<Principal> who = authorizer_->Authorize(*context, Role::kEditor);
    if (!who.ok()) return ToGrpcStatus(who.status());
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(request->sleep_ms());
    while (std::chrono::steady_clock::now() < until && !context->IsCancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    response->set_message(who->name + ":" + request->message());
    return grpc::Status::OK;
  }

 private:
  const Authorizer* authorizer_;
};

class PeerChannelE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = ::testing::TempDir() + "mlops_peer_e2e_XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    absl::StatusOr<testing::TestPki> pki = testing::MakeTestPki(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::TestPki(*pki);
  }
  static void TearDownTestSuite() { delete pki_; }

  PeerChannelE2eTest()
      : tokens_(*ParseTokenFile(HashToken("editor-token") + " svc-training editor\n" +
                                    HashToken("viewer-token") + " dashboard viewer\n",
                                "mem")),
        authorizer_(&tokens_),
        service_(&authorizer_) {}

  ~PeerChannelE2eTest() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  void StartServer(const TlsOptions& tls) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(tls);
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }

  // Calls Echo through a PeerChannel; returns the status, fills `reply`.
  grpc::Status Call(PeerChannelOptions options, const EchoRequest& request, std::string* reply) {
    options.address = "127.0.0.1:" + std::to_string(port_);
    absl::StatusOr<std::unique_ptr<PeerChannel>> peer =
        PeerChannel::Create("echo", std::move(options));
    EXPECT_TRUE(peer.ok()) << peer.status();
    if (!peer.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    std::unique_ptr<EchoService::Stub> stub = EchoService::NewStub((*peer)->channel());
    std::unique_ptr<grpc::ClientContext> context = (*peer)->NewContext();
    EchoResponse response;
    const grpc::Status status = stub->Echo(context.get(), request, &response);
    *reply = response.message();
    return status;
  }

  grpc::Status Call(PeerChannelOptions options, std::string* reply) {
    EchoRequest request;
    request.set_message("hi");
    return Call(std::move(options), request, reply);
  }

  static PeerChannelOptions WithToken(const std::string& token) {
    PeerChannelOptions o;
    o.bearer_token = token;
    o.default_deadline = std::chrono::milliseconds(5000);
    return o;
  }

  static testing::TestPki* pki_;
  TokenStore tokens_;
  Authorizer authorizer_;
  AuthEchoService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};
testing::TestPki* PeerChannelE2eTest::pki_ = nullptr;

TEST_F(PeerChannelE2eTest, TokenWithEnoughRoleIsAcceptedAndPrincipalReachesHandler) {
  StartServer(TlsOptions{});
  std::string reply;
  const grpc::Status s = Call(WithToken("editor-token"), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply, "svc-training:hi");
}

TEST_F(PeerChannelE2eTest, WrongRoleIsPermissionDenied) {
  StartServer(TlsOptions{});
  std::string reply;
  const grpc::Status s = Call(WithToken("viewer-token"), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("role editor or higher required"));
}

TEST_F(PeerChannelE2eTest, MissingOrUnknownTokenIsUnauthenticated) {
  StartServer(TlsOptions{});
  std::string reply;
  EXPECT_EQ(Call(WithToken(""), &reply).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status unknown = Call(WithToken("stolen-guess"), &reply);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(unknown.error_message(), ::testing::Not(HasSubstr("stolen-guess")));
}

TEST_F(PeerChannelE2eTest, DefaultDeadlineIsEnforced) {
  StartServer(TlsOptions{});
  PeerChannelOptions options = WithToken("editor-token");
  options.default_deadline = std::chrono::milliseconds(100);
  EchoRequest slow;
  slow.set_sleep_ms(3000);
  std::string reply;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call(options, slow, &reply).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(PeerChannelE2eTest, TlsServerVerifiedAgainstCa) {
  StartServer({pki_->server_cert_file, pki_->server_key_file, ""});
  PeerChannelOptions options = WithToken("editor-token");
  options.tls.ca_file = pki_->ca_cert_file;
  options.tls_server_name = "localhost";
  std::string reply;
  const grpc::Status ok = Call(options, &reply);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(reply, "svc-training:hi");

  PeerChannelOptions wrong_ca = WithToken("editor-token");
  wrong_ca.tls.ca_file = pki_->other_ca_cert_file;
  wrong_ca.default_deadline = std::chrono::milliseconds(2000);
  EXPECT_EQ(Call(wrong_ca, &reply).error_code(), grpc::StatusCode::UNAVAILABLE);

  PeerChannelOptions plaintext = WithToken("editor-token");
  plaintext.default_deadline = std::chrono::milliseconds(2000);
  EXPECT_NE(Call(plaintext, &reply).error_code(), grpc::StatusCode::OK);
}

TEST_F(PeerChannelE2eTest, MutualTlsRequiresClientCertificate) {
  StartServer({pki_->server_cert_file, pki_->server_key_file, pki_->ca_cert_file});
  PeerChannelOptions with_cert = WithToken("editor-token");
  with_cert.tls = {pki_->ca_cert_file, pki_->client_cert_file, pki_->client_key_file};
  std::string reply;
  const grpc::Status ok = Call(with_cert, &reply);
  ASSERT_TRUE(ok.ok()) << ok.error_message();

  PeerChannelOptions no_cert = WithToken("editor-token");
  no_cert.tls.ca_file = pki_->ca_cert_file;
  no_cert.default_deadline = std::chrono::milliseconds(2000);
  EXPECT_EQ(Call(no_cert, &reply).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace mlops
