// Incremental materialization through gRPC, fed by the real ingestion
// service: APPEND versions are applied incrementally (only the appended rows
// read) and the online values equal a fresh FULL run's; a REPLACE version
// falls back to FULL; a restarted replica rebuilds its state and stays
// INCREMENTAL; the online store table gets only the changed entities and
// another replica loads whole runs; the AUTO watcher picks INCREMENTAL; the
// lag metric is reported.
#include <random>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/time/clock.h"
#include "prometheus/text_serializer.h"
#include "services/features/testing/online_fixture.h"

namespace mlops::features::testing {
namespace {

using ::testing::HasSubstr;

class IncrementalTest : public OnlineTest {
 protected:
  // n random events over ids [first_id, first_id + ids), times in
  // [kT0 + from_hour, kT0 + to_hour) (appends go back in time too: late events).
  std::vector<cv1::Row> Events(int n, int64_t first_id, int64_t ids, int64_t from_hour,
                               int64_t to_hour) {
    std::vector<cv1::Row> out;
    for (int i = 0; i < n; ++i) {
      const int64_t id = first_id + static_cast<int64_t>(rng_() % static_cast<uint64_t>(ids));
      const int64_t t = kT0 + from_hour * kHour +
                        static_cast<int64_t>(rng_() % static_cast<uint64_t>((to_hour - from_hour) * kHour)) /
                            1000 * 1000;
      const double amount = std::ldexp(static_cast<double>(rng_() % 1000000), -7) - 3.3;
      out.push_back(MakeRow({I(id), T(t), D(amount),
                             rng_() % 4 == 0 ? Null() : S("c" + std::to_string(rng_() % 5)),
                             rng_() % 5 == 0 ? Null() : I(static_cast<int64_t>(rng_() % 100) - 50)}));
    }
    return out;
  }

  // A REPLACE batch; the new version id.
  std::string Replace(const std::vector<cv1::Row>& rows) {
    grpc::ClientContext ctx;
    Auth(&ctx);
    iv1::IngestBatchResponse resp;
    auto writer = ingestion_stub_->IngestBatch(&ctx, &resp);
    iv1::IngestBatchRequest msg;
    msg.mutable_header()->set_dataset("tx");
    msg.mutable_header()->set_mode(iv1::INGEST_MODE_REPLACE);
    writer->Write(msg);
    iv1::IngestBatchRequest chunk;
    for (const cv1::Row& r : rows) *chunk.mutable_chunk()->add_rows() = r;
    writer->Write(chunk);
    iv1::IngestBatchRequest end;
    end.mutable_end()->set_row_count(static_cast<int64_t>(rows.size()));
    writer->Write(end);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.version().id();
  }

  // A successful run (fails the test otherwise).
  fv1::MaterializationRun Run(int64_t as_of, fv1::MaterializationMode mode) {
    fv1::MaterializeResponse m;
    grpc::Status s = Materialize(as_of, &m, mode);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(m.run().state(), fv1::MATERIALIZATION_STATE_SUCCEEDED) << m.run().error();
    return m.run();
  }

  // The online rows (values and statuses) of ids [0, 40) at `at`, as
  // `stub` (default: the fixture's replica) serves them.
  std::string OnlineRows(int64_t at, fv1::FeatureService::Stub* stub = nullptr) {
    fv1::GetOnlineFeaturesRequest req;
    req.add_feature_refs("spend:*");
    for (int64_t id = 0; id < 40; ++id) *req.add_entity_rows() = MakeRow({I(id)});
    req.set_request_time_micros(at);
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::GetOnlineFeaturesResponse resp;
    grpc::Status s = (stub != nullptr ? stub : stub_.get())->GetOnlineFeatures(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string out;
    for (const auto& row : resp.rows()) out += row.SerializeAsString();
    return out;
  }

  // The id of spend's newest run.
  int64_t LastRunId() {
    absl::StatusOr<int64_t> id = features_pool_->WithConnection(
        {"test"}, [](pqxx::connection_base& c) {
          pqxx::nontransaction tx(c);
          return tx.exec1("SELECT max(id) FROM materialization_runs WHERE view = 'spend'")[0]
              .as<int64_t>();
        });
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(-1);
  }

  // Per-entity rows (incremental overrides) of the online store for spend:
  // all, and those `run_id` wrote.
  std::pair<int64_t, int64_t> StoredRows(int64_t run_id) {
    absl::StatusOr<std::pair<int64_t, int64_t>> out = features_pool_->WithConnection(
        {"test"}, [&](pqxx::connection_base& c) {
          pqxx::nontransaction tx(c);
          pqxx::row r = tx.exec_params1(
              "SELECT count(*), count(*) FILTER (WHERE run_id = $1) FROM online_rows "
              "WHERE view = 'spend'",
              run_id);
          return std::make_pair(r[0].as<int64_t>(), r[1].as<int64_t>());
        });
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or(std::make_pair(int64_t{-1}, int64_t{-1}));
  }

  std::mt19937_64 rng_{7};
};

// A second feature service instance on the same database (another replica):
// it serves what it loaded from the online store.
class Replica {
 public:
  Replica(PgPool* pool, std::shared_ptr<grpc::Channel> ingestion, const Authorizer* authorizer,
          std::function<int64_t()> clock) {
    FeaturesStackOptions options;
    options.clock = std::move(clock);
    absl::StatusOr<std::unique_ptr<FeaturesStack>> stack = FeaturesStack::Create(
        pool, std::move(ingestion),
        [](std::chrono::milliseconds deadline) {
          auto ctx = std::make_unique<grpc::ClientContext>();
          ctx->set_deadline(std::chrono::system_clock::now() + deadline);
          Auth(ctx.get());
          return ctx;
        },
        &registry_, authorizer, options);
    EXPECT_TRUE(stack.ok()) << stack.status();
    if (!stack.ok()) return;
    stack_ = std::move(*stack);
    absl::StatusOr<std::unique_ptr<GrpcTestServer>> server =
        GrpcTestServer::Start({stack_->service()}, GrpcTestServerOptions{});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return;
    server_ = std::move(*server);
    stub_ = fv1::FeatureService::NewStub(server_->InProcessChannel());
  }
  FeaturesStack* stack() { return stack_.get(); }
  fv1::FeatureService::Stub* stub() { return stub_.get(); }

 private:
  prometheus::Registry registry_;
  std::unique_ptr<FeaturesStack> stack_;
  std::unique_ptr<GrpcTestServer> server_;
  std::unique_ptr<fv1::FeatureService::Stub> stub_;
};

TEST_F(IncrementalTest, AppendsRunIncrementallyAndEqualAFreshFullRun) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", Events(400, 0, 20, 0, 30));
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  // The first run has no state: FULL, whatever was asked.
  fv1::MaterializationRun run = Run(kT0 + 20 * kHour, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.requested_mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(run.rows_read(), 400);
  // Appends: late events, known entities and new ones (ids 20..29); as_of
  // moves forward (windows slide, raw values expire).
  int64_t as_of = kT0 + 20 * kHour;
  int64_t rows_so_far = 400;
  for (int round = 0; round < 4; ++round) {
    const int n = 50 + 30 * round;
    std::vector<cv1::Row> rows = Events(n, round % 2 == 0 ? 0 : 10, 20, 0, 40 + 5 * round);
    Ingest("tx", rows);
    // A restart in between: the state is rebuilt from the loaded online
    // store and the last run's source version (read once, in full).
    const bool restarted = round == 2;
    if (restarted) StartFeatures();
    as_of += (round == 1 ? 0 : 7 * kHour);
    run = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
    EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL) << "round " << round;
    EXPECT_EQ(run.rows_read(), restarted ? rows_so_far + n : n)
        << "only the appended rows are read (and the base version after a restart)";
    rows_so_far += n;
  }
  const std::string incremental = OnlineRows(as_of);
  // The same as_of, FULL, in this replica and in a fresh one (no state).
  run = Run(as_of, fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(OnlineRows(as_of), incremental);
  StartFeatures();
  EXPECT_EQ(OnlineRows(as_of), incremental);  // reloaded from Postgres
  // A restarted replica rebuilds its state: still incremental.
  Ingest("tx", Events(30, 0, 30, 0, 70));
  as_of += 3 * kHour;
  run = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.rows_read(), rows_so_far + 30);
  const std::string after_restart = OnlineRows(as_of);
  run = Run(as_of, fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(OnlineRows(as_of), after_restart);
  StartFeatures();
  EXPECT_EQ(OnlineRows(as_of), after_restart);
}

TEST_F(IncrementalTest, OnlineStoreGetsOnlyChangedEntitiesAndReplicasLoadWholeRuns) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", Events(400, 0, 30, 0, 30));
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  const int64_t as_of = kT0 + 30 * kHour;
  fv1::MaterializationRun full = Run(as_of, fv1::MATERIALIZATION_MODE_FULL);
  ASSERT_GT(full.entities_written(), 20);
  EXPECT_EQ(StoredRows(LastRunId()), std::make_pair(int64_t{0}, int64_t{0}))
      << "FULL writes chunks, no per-entity rows";
  Replica replica(features_pool_.get(), ingestion_server_->InProcessChannel(), authorizer_.get(),
                  [this] { return now_micros_; });
  ASSERT_NE(replica.stack(), nullptr);
  MLOPS_ASSERT_OK(replica.stack()->LoadOnlineStore());
  EXPECT_EQ(OnlineRows(as_of, replica.stub()), OnlineRows(as_of));
  // Two known entities and one new one get events; as_of stays: nothing
  // else is due. Only those three rows are written.
  Ingest("tx", {MakeRow({I(1), T(kT0 + kHour), D(1.5), S("c1"), I(3)}),
                MakeRow({I(2), T(kT0 + 29 * kHour), D(-2.5), Null(), I(4)}),
                MakeRow({I(35), T(kT0 + 2 * kHour), D(7.0), S("c2"), Null()})});
  fv1::MaterializationRun inc = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  ASSERT_EQ(inc.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  const int64_t inc_id = LastRunId();
  EXPECT_EQ(StoredRows(inc_id), std::make_pair(int64_t{3}, int64_t{3}));
  // The replica still serves the FULL run until it reloads; then the new one.
  EXPECT_NE(OnlineRows(as_of, replica.stub()), OnlineRows(as_of));
  replica.stack()->WatchOnce();
  EXPECT_EQ(OnlineRows(as_of, replica.stub()), OnlineRows(as_of));
  // The other replica's run moves the store past this replica's base: its
  // next incremental write would not apply, so it writes every entity.
  fv1::MaterializeResponse other;
  ASSERT_TRUE(
      MaterializeSpend(replica.stub(), as_of, fv1::MATERIALIZATION_MODE_FULL, &other).ok());
  Ingest("tx", {MakeRow({I(3), T(kT0 + 3 * kHour), D(0.25), S("c3"), I(1)})});
  fv1::MaterializationRun moved = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(moved.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(StoredRows(LastRunId()), std::make_pair(int64_t{0}, int64_t{0}));
  replica.stack()->WatchOnce();
  EXPECT_EQ(OnlineRows(as_of, replica.stub()), OnlineRows(as_of));
  // A FULL run after a REPLACE replaces everything (the entities that left
  // are gone).
  Replace(Events(50, 100, 5, 0, 30));
  fv1::MaterializationRun replaced = Run(as_of, fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_GT(replaced.entities_written(), 0);
  EXPECT_EQ(StoredRows(LastRunId()), std::make_pair(int64_t{0}, int64_t{0}));
  replica.stack()->WatchOnce();
  EXPECT_EQ(OnlineRows(as_of, replica.stub()), OnlineRows(as_of));
}

TEST_F(IncrementalTest, ReplaceFallsBackToFull) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", Events(100, 0, 20, 0, 30));
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  Run(kT0 + 30 * kHour, fv1::MATERIALIZATION_MODE_FULL);
  Replace(Events(60, 5, 30, 10, 40));
  fv1::MaterializationRun run = Run(kT0 + 40 * kHour, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(run.rows_read(), 60);
  const std::string after_replace = OnlineRows(kT0 + 40 * kHour);
  // An APPEND on top of the REPLACE version is incremental again, and a
  // fresh FULL run agrees.
  Ingest("tx", Events(40, 0, 40, 20, 45));
  run = Run(kT0 + 45 * kHour, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.rows_read(), 40);
  const std::string incremental = OnlineRows(kT0 + 45 * kHour);
  StartFeatures();
  Run(kT0 + 45 * kHour, fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(OnlineRows(kT0 + 45 * kHour), incremental);
  EXPECT_NE(after_replace, incremental);
}

TEST_F(IncrementalTest, WatcherPicksIncrementalAndReportsLag) {
  // Lag is measured against ingestion's commit times (the real clock).
  now_micros_ = absl::ToUnixMicros(absl::Now()) + kHour;
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", Events(100, 0, 20, 0, 30));
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_AUTO), &r).ok());
  stack_->WatchOnce();
  fv1::GetMaterializationStatusResponse st = Status();
  ASSERT_EQ(st.statuses_size(), 1);
  EXPECT_EQ(st.statuses(0).last_success().mode(), fv1::MATERIALIZATION_MODE_FULL);
  const std::string v2 = Ingest("tx", Events(30, 10, 20, 0, 40));
  stack_->WatchOnce();
  st = Status();
  EXPECT_EQ(st.statuses(0).last_success().mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(st.statuses(0).last_success().rows_read(), 30);
  EXPECT_EQ(st.statuses(0).replica_source_dataset_version_id(), v2);
  EXPECT_EQ(st.statuses(0).data_lag_micros(), 0);
  const std::string exposition = prometheus::TextSerializer().Serialize(registry_->Collect());
  // The run finished (fake clock) one hour after the version was committed.
  EXPECT_THAT(exposition, HasSubstr("mlops_features_materialization_lag_seconds{view=\"spend\"} 3"));
}

}  // namespace
}  // namespace mlops::features::testing
