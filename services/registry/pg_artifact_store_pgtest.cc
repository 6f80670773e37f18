// PgArtifactStore against a real Postgres: the ArtifactStore contract.
#include "services/registry/pg_artifact_store.h"

#include <pqxx/pqxx>

#include "common/db/migrations.h"
#include "common/testing/pg_test_db.h"
#include "mlops_migrations/registry_migrations.h"
#include "services/registry/artifact_store_contract.h"

namespace mlops::registry {
namespace {

class PgEnv : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    PgPoolOptions o;
    o.search_path = "registry";
    pool_ = MakePool(o);
    ASSERT_THAT(RunMigrations(*pool_, "registry", EmbeddedMigrations()).status(), IsOk());
    store_ = std::make_unique<PgArtifactStore>(pool_.get());
  }
  void TearDown() override {
    store_.reset();
    pool_.reset();
    PgTest::TearDown();
  }
  ArtifactStore* store() { return store_.get(); }
  void Corrupt(const std::string& sha256) {
    ASSERT_THAT(pool_->WithTransaction([&](pqxx::transaction_base& txn) -> absl::Status {
      txn.exec_params("UPDATE artifacts SET data = 'tampered'::bytea WHERE sha256 = $1", sha256);
      return absl::OkStatus();
    }),
                IsOk());
  }
  int64_t StoredCount() {
    absl::StatusOr<int64_t> n = pool_->WithTransaction([&](pqxx::transaction_base& txn) {
      return txn.exec("SELECT count(*) FROM artifacts")[0][0].as<int64_t>();
    });
    EXPECT_THAT(n.status(), IsOk());
    return n.value_or(-1);
  }

  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgArtifactStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ArtifactStoreContract, ::testing::Types<PgEnv>);

}  // namespace
}  // namespace mlops::registry
