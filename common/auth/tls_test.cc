#include "common/auth/tls.h"

#include <cstdlib>
#include <string>

#include "common/auth/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = ::testing::TempDir() + "mlops_tls_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    absl::StatusOr<testing::TestPki> pki = testing::MakeTestPki(dir);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::TestPki(*pki);
  }
  static void TearDownTestSuite() { delete pki_; }

  static testing::TestPki* pki_;
};
testing::TestPki* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, NoCertificateMeansPlaintext) {
  const auto server = MakeServerCredentials(TlsOptions{});
  ASSERT_TRUE(server.ok());
  EXPECT_NE(*server, nullptr);
  const auto channel = MakeChannelCredentials(ClientTlsOptions{});
  ASSERT_TRUE(channel.ok());
  EXPECT_NE(*channel, nullptr);
}

TEST_F(TlsTest, ValidPairsBuildTlsAndMtlsCredentials) {
  TlsOptions tls{pki_->server_cert_file, pki_->server_key_file, ""};
  EXPECT_TRUE(MakeServerCredentials(tls).ok());
  tls.client_ca_file = pki_->ca_cert_file;
  EXPECT_TRUE(MakeServerCredentials(tls).ok());
  EXPECT_TRUE(MakeChannelCredentials({pki_->ca_cert_file, "", ""}).ok());
  EXPECT_TRUE(
      MakeChannelCredentials({pki_->ca_cert_file, pki_->client_cert_file, pki_->client_key_file})
          .ok());
}

TEST_F(TlsTest, KeyThatDoesNotMatchCertificateIsRejected) {
  const auto s = MakeServerCredentials({pki_->server_cert_file, pki_->other_key_file, ""});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("does not match certificate"));
  EXPECT_FALSE(
      MakeChannelCredentials({pki_->ca_cert_file, pki_->client_cert_file, pki_->other_key_file})
          .ok());
}

TEST_F(TlsTest, HalfPairsAndMissingFilesAreRejected) {
  EXPECT_THAT(std::string(MakeServerCredentials({"", pki_->server_key_file, ""}).status().message()),
              HasSubstr("both a certificate and a key"));
  EXPECT_THAT(std::string(MakeServerCredentials({"", "", pki_->ca_cert_file}).status().message()),
              HasSubstr("mTLS"));
  EXPECT_THAT(std::string(MakeServerCredentials({"/nonexistent/c.pem", pki_->server_key_file, ""})
                              .status()
                              .message()),
              HasSubstr("/nonexistent/c.pem"));
  EXPECT_FALSE(MakeChannelCredentials({"", pki_->client_cert_file, ""}).ok());
}

TEST_F(TlsTest, NonPemFilesAreRejected) {
  // A key file given as the certificate, and a certificate given as the CA's key.
  EXPECT_THAT(std::string(MakeServerCredentials({pki_->server_key_file, pki_->server_key_file, ""})
                              .status()
                              .message()),
              HasSubstr("holds no PEM certificate"));
  EXPECT_THAT(std::string(MakeChannelCredentials({pki_->client_key_file, "", ""}).status().message()),
              HasSubstr("holds no PEM certificate"));
}

}  // namespace
}  // namespace mlops
