// https webhooks against a TLS server on 127.0.0.1 whose self-signed
// certificate is made in the test: delivered when the client trusts that
// certificate; refused (not retried, the reason recorded on the action
// result) with another CA or the system bundle; bounded by the timeout when
// the server never handshakes.
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/monitoring/action_runner_test_util.h"
#include "services/monitoring/tls_test_server.h"
#include "services/monitoring/webhook_client.h"

namespace mlops::monitoring {
namespace {

std::string HookUrl(const std::string& host, int port) {
  return "https://" + host + ":" + std::to_string(port) + "/hook";
}

// Runs a policy with one webhook to `url` through an ActionRunner posting
// with `client`; returns the action's results once final.
std::vector<v1::ActionResult> RunWebhookAction(const WebhookClient* client, const std::string& url) {
  Results results;
  auto runner = Started(&results, nullptr, nullptr, client);
  v1::AlertPolicy policy;
  policy.add_actions()->mutable_webhook()->set_url(url);
  runner->Run(FiringAlert(), policy, false);
  return results.Final("alert-7", 0);
}

TEST(WebhookTlsTest, DeliversToAServerSignedByTheConfiguredCa) {
  SelfSignedCert cert;
  TlsTestServer server(cert);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto client, WebhookClient::WithCaFile(cert.cert_file()));
  std::vector<v1::ActionResult> r =
      RunWebhookAction(client.get(), HookUrl("127.0.0.1", server.port()));
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().status(), v1::ACTION_STATUS_SUCCEEDED) << r.back().last_error();
  EXPECT_EQ(r.back().result(), "HTTP 200");
  ASSERT_EQ(server.bodies().size(), 1u);
  EXPECT_NE(server.bodies()[0].find("\"id\":\"alert-7\""), std::string::npos) << server.bodies()[0];
  EXPECT_EQ(server.server_names()[0], "");  // no SNI for an IP address
}

TEST(WebhookTlsTest, SendsSniAndChecksTheDnsName) {
  SelfSignedCert cert;
  TlsTestServer server(cert);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto client, WebhookClient::WithCaFile(cert.cert_file()));
  MLOPS_ASSERT_OK_AND_ASSIGN(
      int code, client->PostJson(HookUrl("localhost", server.port()), "{}", {}, absl::Seconds(5)));
  EXPECT_EQ(code, 200);
  ASSERT_EQ(server.server_names().size(), 1u);
  EXPECT_EQ(server.server_names()[0], "localhost");
}

TEST(WebhookTlsTest, AnotherCaFailsWithTheReasonRecordedAndNoRetry) {
  SelfSignedCert cert;
  SelfSignedCert other;
  TlsTestServer server(cert);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto client, WebhookClient::WithCaFile(other.cert_file()));
  const absl::Time start = absl::Now();
  std::vector<v1::ActionResult> r =
      RunWebhookAction(client.get(), HookUrl("127.0.0.1", server.port()));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_EQ(r[0].status(), v1::ACTION_STATUS_FAILED);
  EXPECT_EQ(r[0].attempts(), 1);  // an untrusted certificate is not retried
  EXPECT_NE(r[0].last_error().find("FAILED_PRECONDITION"), std::string::npos) << r[0].last_error();
  EXPECT_NE(r[0].last_error().find("server certificate not trusted"), std::string::npos)
      << r[0].last_error();
  EXPECT_NE(r[0].last_error().find(other.cert_file()), std::string::npos) << r[0].last_error();
  EXPECT_TRUE(server.bodies().empty());
}

TEST(WebhookTlsTest, SystemBundleRefusesASelfSignedServer) {
  SelfSignedCert cert;
  TlsTestServer server(cert);
  auto client = WebhookClient::WithSystemCas();
  absl::StatusOr<int> code =
      client->PostJson(HookUrl("127.0.0.1", server.port()), "{}", {}, absl::Seconds(5));
  ASSERT_EQ(code.status().code(), absl::StatusCode::kFailedPrecondition) << code.status();
  EXPECT_NE(code.status().message().find("self-signed certificate"), std::string::npos)
      << code.status();
  EXPECT_NE(code.status().message().find("system CA bundle"), std::string::npos);
}

TEST(WebhookTlsTest, CertificateForAnotherNameIsRefused) {
  SelfSignedCert cert("DNS:hooks.example.invalid");  // trusted, but not for 127.0.0.1
  TlsTestServer server(cert);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto client, WebhookClient::WithCaFile(cert.cert_file()));
  absl::StatusOr<int> code =
      client->PostJson(HookUrl("127.0.0.1", server.port()), "{}", {}, absl::Seconds(5));
  ASSERT_EQ(code.status().code(), absl::StatusCode::kFailedPrecondition) << code.status();
  EXPECT_NE(code.status().message().find("IP address mismatch"), std::string::npos)
      << code.status();
  EXPECT_TRUE(server.bodies().empty());
}

TEST(WebhookTlsTest, ServerThatNeverHandshakesTimesOut) {
  SelfSignedCert cert;
  TlsTestServer server(cert, /*handshake=*/false);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto client, WebhookClient::WithCaFile(cert.cert_file()));
  const absl::Time start = absl::Now();
  absl::StatusOr<int> code = client->PostJson(HookUrl("127.0.0.1", server.port()), "{}", {},
                                              absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(code.status().code(), absl::StatusCode::kDeadlineExceeded) << code.status();
  EXPECT_NE(code.status().message().find("TLS handshake"), std::string::npos) << code.status();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(2));
}

TEST(WebhookTlsTest, MissingCaFileIsRefusedAtStart) {
  EXPECT_EQ(WebhookClient::WithCaFile("/nonexistent/ca.pem").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mlops::monitoring
