// PgPool without a database: option checks, and behaviour when the server is
// unreachable (a closed port on 127.0.0.1).
#include "common/db/pg_pool.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;

// A port on 127.0.0.1 that refuses connections: bound, never listened on.
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~ClosedPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

PgPoolOptions Unreachable(const ClosedPort& port) {
  PgPoolOptions o;
  o.dsn = "postgresql://postgres@127.0.0.1:" + std::to_string(port.port()) + "/mlops";
  o.size = 2;
  o.reconnect_backoff_initial = absl::Seconds(30);
  o.reconnect_backoff_max = absl::Seconds(30);
  return o;
}

TEST(PgPoolCreateTest, RejectsBadOptions) {
  PgPoolOptions o;
  o.dsn = "host=127.0.0.1";
  o.size = 0;
  EXPECT_THAT(PgPool::Create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size")));
  o.size = 2;
  o.statement_timeout = absl::ZeroDuration();
  EXPECT_THAT(PgPool::Create(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.statement_timeout = absl::Seconds(1);
  o.search_path = "Bad-Schema";
  EXPECT_THAT(PgPool::Create(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("search_path")));
  o.search_path = "";
  o.dsn = "postgresql://u@h/x?nosuchparam=1";
  EXPECT_THAT(PgPool::Create(o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DSN")));
}

TEST(PgPoolCreateTest, DoesNotConnectUntilUsed) {
  ClosedPort port;
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(Unreachable(port));
  ASSERT_THAT(pool, IsOk());
  EXPECT_EQ((*pool)->Stats().connect_failures, 0);
}

TEST(PgPoolUnreachableTest, FailsUnavailableAndThenFailsFastDuringBackoff) {
  ClosedPort port;
  std::atomic<int> events{0};
  PgPoolOptions o = Unreachable(port);
  o.observer = [&](const PgCallEvent& e) {
    EXPECT_EQ(e.code, absl::StatusCode::kUnavailable);
    ++events;
  };
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(o);
  ASSERT_THAT(pool, IsOk());
  EXPECT_THAT((*pool)->Ping(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot connect")));
  const absl::Time start = absl::Now();
  EXPECT_THAT((*pool)->WithTransaction([](pqxx::transaction_base&) {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("next reconnect attempt")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ((*pool)->Stats().connect_failures, 1);
  EXPECT_EQ((*pool)->Stats().in_use, 0);
  EXPECT_EQ(events.load(), 2);
}

}  // namespace
}  // namespace mlops
