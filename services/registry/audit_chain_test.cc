// The audit chain: hashing, verification (sequential and pipelined) and the
// COPY line parser that feeds it from Postgres.
#include "services/registry/audit_chain.h"

#include <vector>

#include "gtest/gtest.h"
#include "services/registry/audit_copy_line.h"
#include "services/registry/audit_verify_pipeline.h"

namespace mlops::registry {
namespace {

std::vector<AuditEntry> Chain(int n) {
  std::vector<AuditEntry> out;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e;
    e.sequence = i;
    e.at_micros = 1000 + i;
    e.principal = "alice";
    e.event_type = 2;
    e.model = "churn";
    e.version = i;
    e.reason = "r" + std::to_string(i);
    e.prev_hash = prev;
    e.entry_hash = ComputeAuditHash(e);
    prev = e.entry_hash;
    out.push_back(e);
  }
  return out;
}

AuditVerifyResult Verify(const std::vector<AuditEntry>& entries) {
  AuditChainVerifier v(kGenesisHash, 0);
  for (const AuditEntry& e : entries) {
    if (!v.Feed(e)) break;
  }
  return v.result();
}

TEST(AuditChainTest, Sha256OfKnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditChainTest, CanonicalEncodingIsLengthPrefixed) {
  AuditEntry a;
  a.principal = "ab";
  a.model = "c";
  AuditEntry b;
  b.principal = "a";
  b.model = "bc";
  EXPECT_NE(CanonicalAuditEncoding(a), CanonicalAuditEncoding(b));
  EXPECT_NE(ComputeAuditHash(a), ComputeAuditHash(b));
  EXPECT_EQ(CanonicalAuditEncoding(a).rfind("14:mlops-audit-v1;", 0), 0u);
}

TEST(AuditChainTest, IntactChainVerifies) {
  AuditVerifyResult r = Verify(Chain(50));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries_checked, 50);
  EXPECT_EQ(r.head_hash, Chain(50).back().entry_hash);
}

TEST(AuditChainTest, EditedFieldNamesFirstBrokenEntry) {
  std::vector<AuditEntry> c = Chain(10);
  c[6].reason = "edited";  // sequence 7
  AuditVerifyResult r = Verify(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_broken_sequence, 7);
  EXPECT_EQ(r.break_kind, AuditBreak::kHashMismatch);
  EXPECT_EQ(r.entries_checked, 6);
}

TEST(AuditChainTest, RehashedEntryBreaksTheNextLink) {
  std::vector<AuditEntry> c = Chain(10);
  c[3].reason = "edited";
  c[3].entry_hash = ComputeAuditHash(c[3]);  // a forger recomputes entry 4's hash
  AuditVerifyResult r = Verify(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_broken_sequence, 5);
  EXPECT_EQ(r.break_kind, AuditBreak::kPrevLinkMismatch);
}

TEST(AuditChainTest, DeletedEntryIsASequenceGap) {
  std::vector<AuditEntry> c = Chain(10);
  c.erase(c.begin() + 2);
  AuditVerifyResult r = Verify(c);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_broken_sequence, 4);
  EXPECT_EQ(r.break_kind, AuditBreak::kSequenceGap);
}

TEST(AuditChainTest, JsonQuoteEscapes) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

AuditVerifyResult Pipelined(const std::vector<AuditEntry>& entries) {
  AuditVerifyPipeline p(kGenesisHash, 0, /*batch=*/16);
  for (const AuditEntry& e : entries) {
    if (!p.Add(e)) break;
  }
  return p.Finish();
}

TEST(AuditVerifyPipelineTest, IntactChainVerifiesEveryEntry) {
  const std::vector<AuditEntry> chain = Chain(100);
  const AuditVerifyResult r = Pipelined(chain);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries_checked, 100);
  EXPECT_EQ(r.head_hash, chain.back().entry_hash);
}

TEST(AuditVerifyPipelineTest, NamesTheSameFirstBrokenEntryAsTheSequentialVerifier) {
  for (int tampered : {1, 16, 17, 40, 97, 100}) {
    std::vector<AuditEntry> chain = Chain(100);
    chain[tampered - 1].reason = "edited";
    const AuditVerifyResult want = Verify(chain);
    const AuditVerifyResult got = Pipelined(chain);
    EXPECT_FALSE(got.ok) << tampered;
    EXPECT_EQ(got.first_broken_sequence, tampered);
    EXPECT_EQ(got.first_broken_sequence, want.first_broken_sequence);
    EXPECT_EQ(got.break_kind, want.break_kind);
    EXPECT_EQ(got.entries_checked, want.entries_checked);
  }
}

TEST(AuditCopyLineTest, ParsesEscapedFields) {
  AuditEntry e;
  ASSERT_TRUE(ParseAuditCopyLine(
      "7\t1700\tal\\\\ice\t6\tchurn\t3\t\t\t{\"a\":\"x\\ty\\nz\"}\t{}\tr\\r\t{}\thp\the\n", &e));
  EXPECT_EQ(e.sequence, 7);
  EXPECT_EQ(e.at_micros, 1700);
  EXPECT_EQ(e.principal, "al\\ice");
  EXPECT_EQ(e.event_type, 6);
  EXPECT_EQ(e.version, 3);
  EXPECT_EQ(e.endpoint, "");
  EXPECT_EQ(e.before_json, "{\"a\":\"x\ty\nz\"}");
  EXPECT_EQ(e.reason, "r\r");
  EXPECT_EQ(e.entry_hash, "he");
}

TEST(AuditCopyLineTest, RejectsMalformedLines) {
  AuditEntry e;
  EXPECT_FALSE(ParseAuditCopyLine("7\t1700\n", &e));
  EXPECT_FALSE(ParseAuditCopyLine("x\t1\ta\t6\tm\t3\t\t\t{}\t{}\t\t{}\tp\th", &e));
  EXPECT_FALSE(ParseAuditCopyLine("7\t1\t\\N\t6\tm\t3\t\t\t{}\t{}\t\t{}\tp\th", &e));
}

}  // namespace
}  // namespace mlops::registry
