#include "common/auth/token_store.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/role.h"
#include "common/auth/token.h"
#include "common/config/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15T08:00:00Z

std::string Line(std::string_view token, std::string_view rest) {
  return HashToken(token) + " " + std::string(rest) + "\n";
}

std::string ParseError(const std::string& text) {
  const absl::StatusOr<TokenTable> t = ParseTokenFile(text, "tokens.txt");
  EXPECT_FALSE(t.ok());
  if (t.ok()) return "";
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(t.status().message());
}

TEST(RoleTest, HierarchyAndNames) {
  EXPECT_TRUE(RoleAtLeast(Role::kAdmin, Role::kDeployer));
  EXPECT_TRUE(RoleAtLeast(Role::kEditor, Role::kEditor));
  EXPECT_FALSE(RoleAtLeast(Role::kEditor, Role::kDeployer));
  EXPECT_FALSE(RoleAtLeast(Role::kViewer, Role::kEditor));
  EXPECT_EQ(*ParseRole("approver"), Role::kDeployer);
  EXPECT_EQ(*ParseRole("Admin"), Role::kAdmin);
  EXPECT_EQ(RoleName(Role::kDeployer), "deployer");
  EXPECT_FALSE(ParseRole("owner").ok());
}

TEST(TokenTest, HashIsLowercaseSha256Hex) {
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashToken(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(TokenTest, GeneratedTokensAre64HexAndDistinct) {
  const absl::StatusOr<std::string> a = GenerateToken();
  const absl::StatusOr<std::string> b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(IsSha256Hex(*a));
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(*a, *b);
}

TEST(TokenFileTest, ParsesEntriesCommentsAndExpiry) {
  const std::string text = "# ops tokens\n\n" + Line("t1", "alice editor") +
                           "  " + Line("t2", "ci-bot@mlops viewer expires=2030-01-01T00:00:00Z");
  const absl::StatusOr<TokenTable> t = ParseTokenFile(text, "tokens.txt");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);
  const TokenEntry& alice = t->at(HashToken("t1"));
  EXPECT_EQ(alice.principal.name, "alice");
  EXPECT_EQ(alice.principal.role, Role::kEditor);
  EXPECT_FALSE(alice.expires.has_value());
  EXPECT_EQ(alice.line, 3);
  const TokenEntry& bot = t->at(HashToken("t2"));
  EXPECT_EQ(*bot.expires, absl::FromUnixSeconds(1893456000));
}

TEST(TokenFileTest, UppercaseHashIsAccepted) {
  std::string hash = HashToken("t1");
  for (char& c : hash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const absl::StatusOr<TokenTable> t = ParseTokenFile(hash + " alice admin\n", "f");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->count(HashToken("t1")), 1u);
}

TEST(TokenFileTest, BadLinesNameFileAndLine) {
  const std::string good = Line("t1", "alice editor");
  EXPECT_THAT(ParseError(good + "# c\n" + HashToken("t2") + " bob\n"),
              HasSubstr("tokens.txt line 3: expected '<sha256 hex> <principal> <role>"));
  EXPECT_THAT(ParseError(good + Line("t2", "bob owner")),
              HasSubstr("tokens.txt line 2: unknown role \"owner\""));
  EXPECT_THAT(ParseError(Line("t2", "b/ob viewer")), HasSubstr("line 1: principal \"b/ob\""));
  EXPECT_THAT(ParseError(Line("t2", "bob viewer expires=tomorrow")),
              HasSubstr("line 1: expires \"tomorrow\" is not RFC3339"));
  EXPECT_THAT(ParseError(Line("t2", "bob viewer ttl=5")), HasSubstr("unexpected field \"ttl=5\""));
  EXPECT_THAT(ParseError(good + good), HasSubstr("line 2: same token hash as line 1"));
}

TEST(TokenFileTest, RawTokenInsteadOfHashIsRejectedWithoutEchoingIt) {
  const std::string msg = ParseError("my-secret-token alice admin\n");
  EXPECT_THAT(msg, HasSubstr("line 1: first field must be the 64-hex-character sha256"));
  EXPECT_THAT(msg, Not(HasSubstr("my-secret-token")));
}

class TokenStoreTest : public ::testing::Test {
 protected:
  TokenStoreTest()
      : store_(*ParseTokenFile(Line("alice-token", "alice deployer") +
                                   Line("old-token", "bob viewer expires=2026-01-01T00:00:00Z"),
                               "mem")) {}
  TokenStore store_;
};

TEST_F(TokenStoreTest, KnownTokenAuthenticates) {
  const absl::StatusOr<Principal> p = store_.Authenticate("alice-token", kNow);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->role, Role::kDeployer);
}

TEST_F(TokenStoreTest, UnknownMissingAndExpiredAreUnauthenticatedWithoutEcho) {
  const absl::Status unknown = store_.Authenticate("guess-token", kNow).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(unknown.message()), Not(HasSubstr("guess-token")));
  EXPECT_EQ(store_.Authenticate("", kNow).status().code(), absl::StatusCode::kUnauthenticated);
  const absl::Status expired = store_.Authenticate("old-token", kNow).status();
  EXPECT_EQ(expired.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired at 2026-01-01T00:00:00"));
  EXPECT_THAT(std::string(expired.message()), Not(HasSubstr("old-token")));
  // Before its expiry the same token is fine.
  EXPECT_TRUE(store_.Authenticate("old-token", absl::FromUnixSeconds(1700000000)).ok());
}

TEST(TokenStoreFileTest, MissingFileIsNotFound) {
  const auto s = TokenStore::Load("/nonexistent/tokens.txt");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("/nonexistent/tokens.txt"));
}

TEST(TokenStoreFileTest, ReloadSwapsTableAndKeepsOldOnError) {
  const std::string path = ::testing::TempDir() + "mlops_token_store_test_tokens";
  ASSERT_TRUE(WriteFileAtomically(path, Line("a", "alice viewer")).ok());
  absl::StatusOr<std::unique_ptr<TokenStore>> store = TokenStore::Load(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->Authenticate("a", kNow).ok());
  EXPECT_FALSE((*store)->Authenticate("b", kNow).ok());

  ASSERT_TRUE(WriteFileAtomically(path, Line("b", "bob admin")).ok());
  ASSERT_TRUE((*store)->Reload().ok());
  EXPECT_FALSE((*store)->Authenticate("a", kNow).ok());
  EXPECT_EQ((*store)->Authenticate("b", kNow)->name, "bob");

  ASSERT_TRUE(WriteFileAtomically(path, "garbage\n").ok());
  const absl::Status bad = (*store)->Reload();
  EXPECT_THAT(std::string(bad.message()), HasSubstr(path + " line 1"));
  EXPECT_EQ((*store)->Authenticate("b", kNow)->name, "bob");
}

TEST(TokenStoreFileTest, AuthenticateWhileReloading) {
  const std::string path = ::testing::TempDir() + "mlops_token_store_test_concurrent";
  ASSERT_TRUE(WriteFileAtomically(path, Line("a", "alice viewer") + Line("b", "bob admin")).ok());
  std::unique_ptr<TokenStore> store = *TokenStore::Load(path);
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!store->Authenticate("a", kNow).ok()) failures.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store->Reload().ok());
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->size(), 2u);
}

TEST(TokenStoreFileTest, FixedTableCannotReload) {
  TokenStore store{TokenTable{}};
  EXPECT_EQ(store.Reload().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mlops
