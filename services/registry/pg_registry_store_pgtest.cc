// Registry domain + PgRegistryStore against a real Postgres (label pg).
#include <atomic>
#include <thread>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/audit_range_verify.h"
#include "services/registry/pg_artifact_store.h"
#include "services/registry/pg_registry_store.h"
#include "services/registry/registry.h"

namespace mlops::registry {
namespace {

using ::testing::HasSubstr;

const char kData[] = "abababababababababababababababababababababababababababababababab";

class RegistryPgTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "registry";
    o.size = 10;
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "registry", EmbeddedMigrations()).status(), IsOk());
    store_ = std::make_unique<PgRegistryStore>(pool_.get());
    artifacts_ = std::make_unique<PgArtifactStore>(pool_.get());
    RegistryOptions options;
    options.now_micros = [this] { return clock_.fetch_add(10); };
    registry_ = std::make_unique<Registry>(store_.get(), artifacts_.get(), nullptr, options);
  }
  void TearDown() override {
    registry_.reset();
    artifacts_.reset();
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }

  NewVersion Version(const std::string& bytes, double auc) {
    NewVersion nv;
    nv.record.model = "churn";
    nv.record.artifact_sha256 = Sha256Hex(bytes);
    nv.record.artifact_size = static_cast<int64_t>(bytes.size());
    nv.artifact_bytes = bytes;
    nv.create_model_if_missing = true;
    EvaluationRecord e;
    e.name = "test";
    e.dataset_version = kData;
    e.metrics["auc"] = auc;
    nv.record.evaluations.push_back(e);
    return nv;
  }

  absl::StatusOr<TransitionOutcome> Move(int64_t version, Stage target,
                                         const Principal& who = {"dana", Role::kDeployer}) {
    return registry_->RequestTransition(who, {"churn", version, target, "test", false, false});
  }

  int64_t CountRows(const std::string& sql) {
    absl::StatusOr<int64_t> n = pool_->WithTransaction([&](pqxx::transaction_base& txn) {
      return txn.exec(sql)[0][0].as<int64_t>();
    });
    EXPECT_THAT(n.status(), IsOk());
    return n.value_or(-1);
  }

  std::atomic<int64_t> clock_{1000};
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgRegistryStore> store_;
  std::unique_ptr<PgArtifactStore> artifacts_;
  std::unique_ptr<Registry> registry_;
  Principal alice_{"alice", Role::kEditor};
};

TEST_F(RegistryPgTest, NumbersVersionsAndStoresIdenticalArtifactsOnce) {
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v1, registry_->RegisterVersion(alice_, Version("m", 0.8)));
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v2, registry_->RegisterVersion(alice_, Version("m", 0.9)));
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v2.stage, Stage::kNone);
  ASSERT_EQ(v2.evaluations.size(), 1u);
  EXPECT_DOUBLE_EQ(v2.evaluations[0].metrics.at("auc"), 0.9);
  EXPECT_EQ(CountRows("SELECT count(*) FROM artifacts"), 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string bytes,
                             registry_->ReadArtifact(alice_, "", "churn", 2, "INSPECTION", ""));
  EXPECT_EQ(bytes, "m");
}

TEST_F(RegistryPgTest, HashMismatchStoresNothing) {
  NewVersion nv = Version("model-bytes", 0.8);
  nv.record.artifact_sha256 = Sha256Hex("other");
  EXPECT_THAT(registry_->RegisterVersion(alice_, nv).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("artifact sha256 mismatch: expected " + Sha256Hex("other") +
                                 ", got " + Sha256Hex("model-bytes"))));
  EXPECT_EQ(CountRows("SELECT count(*) FROM models"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM artifacts"), 0);
  EXPECT_EQ(CountRows("SELECT count(*) FROM audit_log"), 0);
}

TEST_F(RegistryPgTest, UnknownModelIsNotFoundUnlessCreated) {
  NewVersion nv = Version("x", 0.8);
  nv.create_model_if_missing = false;
  EXPECT_THAT(registry_->RegisterVersion(alice_, nv).status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(registry_->GetVersion("churn", 1).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(RegistryPgTest, PromotionArchivesPreviousProductionInSameTransaction) {
  for (int i = 0; i < 2; ++i) ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome first, Move(1, Stage::kProduction));
  EXPECT_EQ(first.request.status, TransitionStatus::kGranted);
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome second, Move(2, Stage::kProduction));
  EXPECT_EQ(second.request.status, TransitionStatus::kGranted);
  EXPECT_EQ(second.request.replaced_production_version, 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v1, registry_->GetVersion("churn", 1));
  EXPECT_EQ(v1.stage, Stage::kArchived);
  MLOPS_ASSERT_OK_AND_ASSIGN(ModelRecord m, registry_->GetModel("churn"));
  EXPECT_EQ(m.production_version, 2);
  ASSERT_EQ(m.aliases.size(), 1u);
  EXPECT_EQ(m.aliases[0].name, "champion");
  EXPECT_EQ(m.aliases[0].version, 2);
  EXPECT_EQ(CountRows("SELECT count(*) FROM versions WHERE stage = 3"), 1);
}

TEST_F(RegistryPgTest, FailedGateIsDeniedWithMeasuredValuesAndChangesNoStage) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.81)).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  p.production.thresholds.push_back({"", "auc", Comparison::kGreaterOrEqual, 0.85, ""});
  p.production.thresholds.push_back({"", "f1", Comparison::kGreaterOrEqual, 0.5, ""});
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "strict").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome out, Move(1, Stage::kProduction));
  EXPECT_EQ(out.request.status, TransitionStatus::kDenied);
  EXPECT_THAT(out.status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("threshold auc >= 0.85: measured 0.81")));
  EXPECT_THAT(out.status.message(), HasSubstr("f1"));
  EXPECT_THAT(out.status.message(), HasSubstr(out.request.id));
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionRecord stored, registry_->GetTransition(out.request.id));
  EXPECT_EQ(stored.status, TransitionStatus::kDenied);
  EXPECT_EQ(stored.report.checks.size(), 2u);
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v, registry_->GetVersion("churn", 1));
  EXPECT_EQ(v.stage, Stage::kNone);
}

TEST_F(RegistryPgTest, ChampionChallengerComparesOnSameData) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("a", 0.80)).status(), IsOk());
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("b", 0.805)).status(), IsOk());
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("c", 0.83)).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  ChampionChallengerCheck c;
  c.metric = "auc";
  c.min_improvement = 0.01;
  p.production.champion_challenger.push_back(c);
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "cc").status(), IsOk());
  ASSERT_THAT(Move(1, Stage::kProduction).status(), IsOk());  // no champion yet: passes
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome weak, Move(2, Stage::kProduction));
  EXPECT_THAT(weak.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome strong, Move(3, Stage::kProduction));
  EXPECT_THAT(strong.status, IsOk());
  EXPECT_EQ(strong.request.report.checks[0].champion_version, 1);
}

TEST_F(RegistryPgTest, ChampionAliasComparesAgainstTheAliasedVersion) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("a", 0.70)).status(), IsOk());
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("b", 0.86)).status(), IsOk());
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("c", 0.80)).status(), IsOk());
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("d", 0.90)).status(), IsOk());
  ASSERT_THAT(Move(1, Stage::kProduction).status(), IsOk());
  ASSERT_THAT(registry_->SetAlias(alice_, "churn", "challenger", 2, "best offline").status(),
              IsOk());
  GatePolicy p;
  p.model = "churn";
  ChampionChallengerCheck c;
  c.metric = "auc";
  c.min_improvement = 0.01;
  c.champion_alias = "challenger";
  p.staging.champion_challenger.push_back(c);
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "cc").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(GatePolicy stored, registry_->GetGatePolicy("churn"));
  ASSERT_EQ(stored.staging.champion_challenger.size(), 1u);
  EXPECT_EQ(stored.staging.champion_challenger[0].champion_alias, "challenger");
  // v3 beats production (0.70) but not the challenger (0.86).
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome weak, Move(3, Stage::kStaging));
  EXPECT_THAT(weak.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(weak.request.report.checks[0].champion_version, 2);
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v3, registry_->GetVersion("churn", 3));
  EXPECT_EQ(v3.stage, Stage::kNone);
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome strong, Move(4, Stage::kStaging));
  EXPECT_THAT(strong.status, IsOk());
  EXPECT_EQ(strong.request.report.checks[0].champion_version, 2);
  EXPECT_NEAR(strong.request.report.checks[0].champion_value, 0.86, 1e-12);
  // The aliased version itself has no other champion: it passes (fail_if_no_champion false).
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome self, Move(2, Stage::kStaging));
  EXPECT_THAT(self.status, IsOk());
}

TEST_F(RegistryPgTest, StagingRequiredBlocksDirectPromotion) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  p.require_staging_before_production = true;
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "").status(), IsOk());
  EXPECT_THAT(Move(1, Stage::kProduction).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("STAGING")));
  ASSERT_THAT(Move(1, Stage::kStaging).status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome out, Move(1, Stage::kProduction));
  EXPECT_EQ(out.request.status, TransitionStatus::kGranted);
}

TEST_F(RegistryPgTest, RequiredApprovalsWithFourEyes) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  p.production.approvals = {1, Role::kDeployer};
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome pending, Move(1, Stage::kProduction));
  ASSERT_EQ(pending.request.status, TransitionStatus::kPendingApproval);
  EXPECT_THAT(Move(1, Stage::kProduction).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  const std::string id = pending.request.id;
  EXPECT_THAT(registry_->Approve({"dana", Role::kDeployer}, id, "mine").status(),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("four eyes")));
  EXPECT_THAT(registry_->Approve({"vic", Role::kViewer}, id, "ok").status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord before, registry_->GetVersion("churn", 1));
  EXPECT_EQ(before.stage, Stage::kNone);
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome granted,
                             registry_->Approve({"erin", Role::kDeployer}, id, "lgtm"));
  EXPECT_EQ(granted.request.status, TransitionStatus::kGranted);
  ASSERT_EQ(granted.request.approvals.size(), 1u);
  EXPECT_EQ(granted.request.approvals[0].principal, "erin");
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord after, registry_->GetVersion("churn", 1));
  EXPECT_EQ(after.stage, Stage::kProduction);
  EXPECT_THAT(registry_->Approve({"fred", Role::kDeployer}, id, "late").status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegistryPgTest, RejectEndsPendingRequest) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  p.staging.approvals = {2, Role::kDeployer};
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome pending, Move(1, Stage::kStaging, alice_));
  EXPECT_THAT(registry_->Reject({"vic", Role::kViewer}, pending.request.id, "no").status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionRecord r,
                             registry_->Reject({"erin", Role::kDeployer}, pending.request.id, "no"));
  EXPECT_EQ(r.status, TransitionStatus::kRejected);
  MLOPS_ASSERT_OK_AND_ASSIGN(VersionRecord v, registry_->GetVersion("churn", 1));
  EXPECT_EQ(v.stage, Stage::kNone);
}

TEST_F(RegistryPgTest, EightConcurrentPromotionsExactlyOneWins) {
  constexpr int kThreads = 8;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m" + std::to_string(i), 0.8)).status(),
                IsOk());
  }
  MLOPS_ASSERT_OK_AND_ASSIGN(ModelRecord m, store_->GetModel("churn"));
  std::atomic<int> ok{0}, aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      TransitionCommit c;
      c.request.id = "tr-race" + std::to_string(i);
      c.request.model = "churn";
      c.request.version = i + 1;
      c.request.from_stage = Stage::kNone;
      c.request.target_stage = Stage::kProduction;
      c.request.status = TransitionStatus::kGranted;
      c.request.evaluated_generation = m.generation;  // all gated against the same state
      c.apply = true;
      AuditEntry e;
      e.principal = "dana";
      e.event_type = kAuditTransitionGranted;
      e.model = "churn";
      e.version = i + 1;
      c.audit.push_back(e);
      absl::Status s = store_->CommitTransition(c).status();
      if (s.ok()) {
        ++ok;
      } else if (absl::IsAborted(s)) {
        ++aborted;
      } else {
        ++other;
        ADD_FAILURE() << s;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(aborted.load(), kThreads - 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM versions WHERE stage = 3"), 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM transitions"), 1);
  MLOPS_ASSERT_OK_AND_ASSIGN(AuditVerifyResult r, registry_->VerifyAudit(0, 0));
  EXPECT_TRUE(r.ok);
}

TEST_F(RegistryPgTest, AuditChainVerifiesAndNamesFirstTamperedEntry) {
  for (int i = 0; i < 3; ++i) ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  ASSERT_THAT(Move(1, Stage::kProduction).status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(AuditVerifyResult intact, registry_->VerifyAudit(0, 0));
  EXPECT_TRUE(intact.ok);
  const int64_t n = CountRows("SELECT count(*) FROM audit_log");
  EXPECT_EQ(intact.entries_checked, n);
  ASSERT_THAT(pool_->WithTransaction([](pqxx::transaction_base& txn) {
    txn.exec("UPDATE audit_log SET principal = 'mallory' WHERE sequence = 3");
  }), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(AuditVerifyResult broken, registry_->VerifyAudit(0, 0));
  EXPECT_FALSE(broken.ok);
  EXPECT_EQ(broken.first_broken_sequence, 3);
  EXPECT_EQ(broken.break_kind, AuditBreak::kHashMismatch);
  EXPECT_EQ(broken.entries_checked, 2);
}

// The split verification (two halves at once, the second starting from the
// stored hash of the first half's last entry) reports exactly what one pass
// reports, whether the chain is intact or broken before, at or after the split.
TEST_F(RegistryPgTest, SplitAuditVerificationEqualsOnePass) {
  for (int i = 0; i < 4; ++i) ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  ASSERT_THAT(Move(1, Stage::kProduction).status(), IsOk());
  const int64_t n = CountRows("SELECT count(*) FROM audit_log");
  ASSERT_GE(n, 6);
  const int64_t mid = 1 + (n - 1) / 2;
  auto same = [&](const std::string& what) -> AuditVerifyResult {
    absl::StatusOr<AuditVerifyResult> one_pass = VerifyAuditRange(*store_, 0, 0, /*split_min=*/n + 1);
    absl::StatusOr<AuditVerifyResult> split_pass = VerifyAuditRange(*store_, 0, 0, /*split_min=*/2);
    EXPECT_TRUE(one_pass.ok() && split_pass.ok()) << what;
    if (!one_pass.ok() || !split_pass.ok()) return AuditVerifyResult{};
    const AuditVerifyResult& one = *one_pass;
    const AuditVerifyResult& split = *split_pass;
    EXPECT_EQ(split.ok, one.ok) << what;
    EXPECT_EQ(split.entries_checked, one.entries_checked) << what;
    EXPECT_EQ(split.first_broken_sequence, one.first_broken_sequence) << what;
    EXPECT_EQ(split.break_kind, one.break_kind) << what;
    EXPECT_EQ(split.head_hash, one.head_hash) << what;
    return one;
  };
  auto exec = [&](const std::string& sql) {
    ASSERT_THAT(pool_->WithTransaction([&](pqxx::transaction_base& txn) { txn.exec(sql); }), IsOk());
  };
  EXPECT_TRUE(same("intact").ok);
  // The last entry's hash replaced: only the second half sees it.
  exec(absl::StrCat("UPDATE audit_log SET entry_hash = repeat('0', 64) WHERE sequence = ", n));
  EXPECT_EQ(same("last entry's hash").first_broken_sequence, n);
  exec(absl::StrCat("DELETE FROM audit_log WHERE sequence = ", n));
  EXPECT_TRUE(same("last entry gone (a truncated chain verifies; the head check is the caller's)").ok);
  // An entry of the second half deleted: a gap.
  exec(absl::StrCat("DELETE FROM audit_log WHERE sequence = ", mid + 1));
  EXPECT_EQ(same("gap after the split").first_broken_sequence, mid + 2);
  // The split entry's hash rewritten: the second half's link breaks.
  exec(absl::StrCat("UPDATE audit_log SET entry_hash = repeat('1', 64) WHERE sequence = ", mid));
  EXPECT_EQ(same("split entry's hash").first_broken_sequence, mid);
  // The split entry gone: one pass finds the gap.
  exec(absl::StrCat("DELETE FROM audit_log WHERE sequence = ", mid));
  EXPECT_FALSE(same("split entry gone").ok);
  // A first-half entry's content changed.
  exec("UPDATE audit_log SET principal = 'mallory' WHERE sequence = 2");
  EXPECT_EQ(same("first half").first_broken_sequence, 2);
}

TEST_F(RegistryPgTest, AnswersWhichVersionWasInProductionAtTimeT) {
  for (int i = 0; i < 2; ++i) ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  const int64_t before_any = clock_.load();
  ASSERT_THAT(Move(1, Stage::kProduction).status(), IsOk());
  const int64_t during_v1 = clock_.load();
  ASSERT_THAT(Move(2, Stage::kProduction).status(), IsOk());
  const int64_t during_v2 = clock_.load();
  MLOPS_ASSERT_OK_AND_ASSIGN(ProductionAt none, registry_->ProductionAtTime("churn", before_any));
  EXPECT_EQ(none.version, 0);
  MLOPS_ASSERT_OK_AND_ASSIGN(ProductionAt p1, registry_->ProductionAtTime("churn", during_v1));
  EXPECT_EQ(p1.version, 1);
  EXPECT_GT(p1.until_micros, 0);
  MLOPS_ASSERT_OK_AND_ASSIGN(ProductionAt p2, registry_->ProductionAtTime("churn", during_v2));
  EXPECT_EQ(p2.version, 2);
  EXPECT_EQ(p2.until_micros, 0);
}

TEST_F(RegistryPgTest, ArchivedToProductionRunsTheGateAgain) {
  ASSERT_THAT(registry_->RegisterVersion(alice_, Version("m", 0.8)).status(), IsOk());
  ASSERT_THAT(Move(1, Stage::kArchived).status(), IsOk());
  GatePolicy p;
  p.model = "churn";
  p.production.thresholds.push_back({"", "auc", Comparison::kGreaterOrEqual, 0.9, ""});
  ASSERT_THAT(registry_->SetGatePolicy({"dana", Role::kDeployer}, p, "").status(), IsOk());
  MLOPS_ASSERT_OK_AND_ASSIGN(TransitionOutcome out, Move(1, Stage::kProduction));
  EXPECT_THAT(out.status, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(RegistryPgTest, ListsVersionsWithFiltersAndPaging) {
  for (int i = 0; i < 5; ++i) {
    NewVersion nv = Version("m" + std::to_string(i), 0.8);
    nv.record.tags.emplace_back("team", i % 2 == 0 ? "a" : "b");
    ASSERT_THAT(registry_->RegisterVersion(alice_, nv).status(), IsOk());
  }
  ASSERT_THAT(Move(3, Stage::kStaging).status(), IsOk());
  VersionFilter f;
  f.model = "churn";
  f.tags = {{"team", "a"}};
  f.limit = 2;
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<VersionRecord> page1, registry_->ListVersions(f));
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0].version, 5);
  EXPECT_EQ(page1[1].version, 3);
  f.after_model = "churn";
  f.after_version = 3;
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<VersionRecord> page2, registry_->ListVersions(f));
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].version, 1);
  VersionFilter staged;
  staged.stages = {Stage::kStaging};
  MLOPS_ASSERT_OK_AND_ASSIGN(std::vector<VersionRecord> s, registry_->ListVersions(staged));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].version, 3);
  f.model = "nope";
  EXPECT_THAT(registry_->ListVersions(f).status(), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace mlops::registry
