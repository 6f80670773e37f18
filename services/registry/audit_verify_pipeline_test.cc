// The pipelined verifier agrees with the sequential one wherever the break
// is (inside a hashed batch, at a batch edge, in the unhashed tail), and the
// COPY line parser reads back what Postgres' text format escapes.
#include "services/registry/audit_verify_pipeline.h"

#include <vector>

#include "gtest/gtest.h"
#include "services/registry/audit_copy_line.h"

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
    e.event_type = 6;
    e.model = "churn";
    e.version = i % 7;
    e.after_json = "{\"stage\":\"PRODUCTION\"}";
    e.prev_hash = prev;
    e.entry_hash = ComputeAuditHash(e);
    prev = e.entry_hash;
    out.push_back(e);
  }
  return out;
}

AuditVerifyResult Sequential(const std::vector<AuditEntry>& entries) {
  AuditChainVerifier v(kGenesisHash, 0);
  for (const AuditEntry& e : entries) {
    if (!v.Feed(e)) break;
  }
  return v.result();
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
    const AuditVerifyResult want = Sequential(chain);
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
