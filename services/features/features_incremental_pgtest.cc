// Incremental materialization through gRPC, fed by the real ingestion
// service: APPEND versions are applied incrementally (only the appended rows
// read) and the online values equal a fresh FULL run's; a REPLACE version
// falls back to FULL; a restarted replica (no state) runs FULL; the AUTO
// watcher picks INCREMENTAL; the lag metric is reported.
#include <random>
#include <string>
#include <vector>

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

  // The online rows (values and statuses) of ids [0, 40) at `at`.
  std::string OnlineRows(int64_t at) {
    std::vector<cv1::Value> keys;
    for (int64_t id = 0; id < 40; ++id) keys.push_back(I(id));
    fv1::GetOnlineFeaturesResponse resp;
    grpc::Status s = Online(keys, at, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string out;
    for (const auto& row : resp.rows()) out += row.SerializeAsString();
    return out;
  }

  std::mt19937_64 rng_{7};
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
  for (int round = 0; round < 4; ++round) {
    const int n = 50 + 30 * round;
    std::vector<cv1::Row> rows = Events(n, round % 2 == 0 ? 0 : 10, 20, 0, 40 + 5 * round);
    Ingest("tx", rows);
    as_of += (round == 1 ? 0 : 7 * kHour);
    run = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
    EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_INCREMENTAL) << "round " << round;
    EXPECT_EQ(run.rows_read(), n) << "only the appended rows are read";
  }
  const std::string incremental = OnlineRows(as_of);
  // The same as_of, FULL, in this replica and in a fresh one (no state).
  run = Run(as_of, fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(OnlineRows(as_of), incremental);
  StartFeatures();
  EXPECT_EQ(OnlineRows(as_of), incremental);  // reloaded from Postgres
  run = Run(as_of, fv1::MATERIALIZATION_MODE_INCREMENTAL);
  EXPECT_EQ(run.mode(), fv1::MATERIALIZATION_MODE_FULL) << "a restarted replica has no state";
  EXPECT_EQ(OnlineRows(as_of), incremental);
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
