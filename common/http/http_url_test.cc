#include "common/http/http_url.h"

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

TEST(HttpUrlTest, SplitsSchemeHostPortAndTarget) {
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpUrl u, ParseHttpUrl("http://hooks.local:8080/a/b?c=1"));
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "hooks.local");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.target, "/a/b?c=1");
}

TEST(HttpUrlTest, DefaultsPortBySchemeAndTargetToRoot) {
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpUrl u, ParseHttpUrl("http://h"));
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.target, "/");
  MLOPS_ASSERT_OK_AND_ASSIGN(u, ParseHttpUrl("https://h/x"));
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, "443");
}

TEST(HttpUrlTest, AcceptsBracketedIpv6) {
  MLOPS_ASSERT_OK_AND_ASSIGN(HttpUrl u, ParseHttpUrl("https://[fd00::1]:6443/apis"));
  EXPECT_EQ(u.host, "fd00::1");
  EXPECT_EQ(u.port, "6443");
  MLOPS_ASSERT_OK_AND_ASSIGN(u, ParseHttpUrl("https://[::1]"));
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "443");
}

TEST(HttpUrlTest, RefusesOtherSchemesBadPortsAndEmptyHosts) {
  EXPECT_EQ(ParseHttpUrl("ftp://h/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("http://h:99999/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("http://h:x/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("http://:80/").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHttpUrl("https://[::1/").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mlops
