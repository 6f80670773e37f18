// Materialization, the online store and online serving through gRPC, fed by
// the real ingestion service: statuses (present, null, expired, unknown),
// reload by a fresh service instance, the watcher following new dataset
// versions, bad input codes, metrics, and the skew test (online values after
// materializing as of t equal historical values at t, bit for bit).
#include <map>
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

TEST_F(OnlineTest, StatusesPerValueAndReloadInAFreshInstance) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", {MakeRow({I(1), T(kT0), D(1.5), S("a"), Null()}),
                MakeRow({I(2), T(kT0 + kHour), D(2.5), Null(), I(4)})});
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  fv1::GetOnlineFeaturesResponse before;
  EXPECT_EQ(Online({I(1)}, kT0, &before).error_code(), grpc::FAILED_PRECONDITION);

  fv1::MaterializeResponse m;
  ASSERT_TRUE(Materialize(kT0 + 2 * kHour, &m).ok());
  EXPECT_EQ(m.run().state(), fv1::MATERIALIZATION_STATE_SUCCEEDED);
  EXPECT_EQ(m.run().mode(), fv1::MATERIALIZATION_MODE_FULL);
  EXPECT_EQ(m.run().entities_written(), 2);
  EXPECT_EQ(m.run().rows_read(), 2);
  EXPECT_EQ(m.run().principal(), "alice");

  fv1::GetOnlineFeaturesResponse resp;
  ASSERT_TRUE(Online({I(1), I(2), I(99)}, kT0 + 2 * kHour, &resp).ok());
  ASSERT_EQ(resp.columns_size(), 10);
  EXPECT_EQ(resp.columns(0).ref(), "spend@1:amount");
  EXPECT_EQ(resp.views(0).materialized_as_of_micros(), kT0 + 2 * kHour);
  ASSERT_EQ(resp.rows_size(), 3);
  EXPECT_EQ(resp.rows(0).statuses(0), fv1::FEATURE_STATUS_PRESENT);
  EXPECT_EQ(resp.rows(0).values(0).double_value(), 1.5);
  EXPECT_EQ(resp.rows(0).statuses(2), fv1::FEATURE_STATUS_NULL);  // n is NULL
  EXPECT_EQ(resp.rows(1).values(2).int64_value(), 4);
  EXPECT_EQ(resp.rows(2).statuses(0), fv1::FEATURE_STATUS_ENTITY_UNKNOWN);
  // Later, the raw values pass the 10 h TTL; aggregations do not expire.
  fv1::GetOnlineFeaturesResponse late;
  ASSERT_TRUE(Online({I(1)}, kT0 + 11 * kHour, &late).ok());
  EXPECT_EQ(late.rows(0).statuses(0), fv1::FEATURE_STATUS_EXPIRED);
  EXPECT_EQ(late.rows(0).values(0).kind_case(), 0);
  EXPECT_EQ(late.rows(0).statuses(4), fv1::FEATURE_STATUS_PRESENT);

  fv1::GetMaterializationStatusResponse st = Status();
  ASSERT_EQ(st.statuses_size(), 1);
  EXPECT_EQ(st.statuses(0).entity_count(), 2);
  EXPECT_EQ(st.statuses(0).replica_as_of_micros(), kT0 + 2 * kHour);
  EXPECT_EQ(st.statuses(0).data_lag_micros(), 0);
  EXPECT_EQ(st.statuses(0).staleness_micros(), now_micros_ - (kT0 + 2 * kHour));

  // INCREMENTAL may not go back in time.
  fv1::MaterializeResponse back;
  EXPECT_EQ(Materialize(kT0, &back, fv1::MATERIALIZATION_MODE_INCREMENTAL).error_code(),
            grpc::FAILED_PRECONDITION);

  // A restarted replica serves the same bytes at once, from Postgres.
  StartFeatures();
  fv1::GetOnlineFeaturesResponse reloaded;
  ASSERT_TRUE(Online({I(1), I(2), I(99)}, kT0 + 2 * kHour, &reloaded).ok());
  EXPECT_EQ(reloaded.SerializeAsString(), resp.SerializeAsString());
}

TEST_F(OnlineTest, BadOnlineRequestsGetExactCodes) {
  ASSERT_NO_FATAL_FAILURE(OneRowMaterialized());
  FeaturesStackOptions small;
  small.max_online_entities = 3;
  StartFeatures(small);
  fv1::GetOnlineFeaturesResponse resp;
  EXPECT_EQ(Online({}, kT0, &resp).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(Online({I(1)}, kT0, &resp, {}).error_code(), grpc::INVALID_ARGUMENT);
  grpc::Status s = Online({I(1), I(2), I(3), I(4)}, kT0, &resp);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("the limit is 3"));
  s = Online({S("1")}, kT0, &resp);
  EXPECT_EQ(s.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("entity_rows[0]: view \"spend\" expects a INT64 key, got STRING"));
  EXPECT_EQ(Online({Null()}, kT0, &resp).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(Online({I(1)}, kT0, &resp, {"nope:x"}).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Online({I(1)}, kT0, &resp, {"spend:nope"}).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Online({I(1)}, kT0, &resp, {"spend@7:amount"}).error_code(), grpc::NOT_FOUND);
  EXPECT_EQ(Online({I(1)}, kMaxTimeMicros + 1, &resp).error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(Online({I(1)}, kT0, &resp, {"spend"}).error_code(), grpc::INVALID_ARGUMENT);
  ASSERT_TRUE(Online({I(1), I(5)}, kT0, &resp).ok());

  // Metrics of the calls that were served.
  prometheus::TextSerializer text;
  const std::string exposition = text.Serialize(registry_->Collect());
  EXPECT_THAT(exposition, HasSubstr("mlops_features_online_latency_seconds_count 1"));
  EXPECT_THAT(exposition, HasSubstr("mlops_features_online_entities_per_request_sum 2"));
  EXPECT_THAT(exposition, HasSubstr("mlops_features_online_entity_lookups_total{result=\"unknown\"} 1"));
  // GetOnlineFeatures records the interceptor's series itself (its calls run
  // without interception), errors included: 11 calls.
  EXPECT_TRUE(RpcMetrics::IsRecordedByHandler(
      rpc_metrics_->Lookup("/mlops.features.v1.FeatureService/GetOnlineFeatures")));
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_started_total{grpc_method="
                                    "\"GetOnlineFeatures\",grpc_service="
                                    "\"mlops.features.v1.FeatureService\"} 11"));
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"OK\",grpc_method="
                                    "\"GetOnlineFeatures\""));
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                                    "grpc_method=\"GetOnlineFeatures\""));
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_in_flight_rpcs{grpc_method=\"GetOnlineFeatures\","
                                    "grpc_service=\"mlops.features.v1.FeatureService\"} 0"));
}

// StreamOnlineFeatures answers every lookup as GetOnlineFeatures answers
// the same request (codes, messages, bytes), the registry's error path (an
// unknown view, answered off gRPC's threads) included; a bad lookup does not
// end the stream; a stream without a token is refused at its start.
TEST_F(OnlineTest, StreamedLookupsAnswerAsTheUnaryCall) {
  ASSERT_NO_FATAL_FAILURE(OneRowMaterialized());
  StartFeatures();
  struct Case {
    std::vector<cv1::Value> keys;
    std::vector<std::string> refs;
  };
  const std::vector<Case> cases = {
      {{I(1), I(5)}, {"spend:*"}},  {{S("1")}, {"spend:*"}},   {{I(1)}, {"nope:x"}},
      {{I(1)}, {"spend:nope"}},     {{}, {"spend:*"}},         {{I(1)}, {"spend@7:amount"}},
      {{I(1)}, {"spend:*"}},
  };
  std::vector<grpc::Status> unary_status;
  std::vector<std::string> unary_bytes;
  for (const Case& c : cases) {
    fv1::GetOnlineFeaturesResponse resp;
    unary_status.push_back(Online(c.keys, kT0, &resp, c.refs));
    unary_bytes.push_back(resp.SerializeAsString());
  }

  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  auto stream = stub_->StreamOnlineFeatures(&ctx);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    fv1::OnlineFeaturesLookup lookup;
    lookup.set_lookup_id(100 + i);
    for (const std::string& ref : cases[i].refs) lookup.mutable_request()->add_feature_refs(ref);
    for (const cv1::Value& k : cases[i].keys) *lookup.mutable_request()->add_entity_rows() = MakeRow({k});
    lookup.mutable_request()->set_request_time_micros(kT0);
    ASSERT_TRUE(stream->Write(lookup));
  }
  ASSERT_TRUE(stream->WritesDone());
  std::map<uint64_t, fv1::OnlineFeaturesResult> results;
  fv1::OnlineFeaturesResult result;
  while (stream->Read(&result)) results[result.lookup_id()] = result;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(results.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const fv1::OnlineFeaturesResult& got = results[100 + i];
    EXPECT_EQ(got.code(), static_cast<int>(unary_status[i].error_code())) << "case " << i;
    EXPECT_EQ(got.message(), unary_status[i].error_message()) << "case " << i;
    if (unary_status[i].ok()) {
      EXPECT_EQ(got.response().SerializeAsString(), unary_bytes[i]) << "case " << i;
    }
  }
  EXPECT_EQ(results[102].code(), grpc::NOT_FOUND);  // the registry's path
  EXPECT_THAT(results[101].message(), HasSubstr("entity_rows[0]"));

  grpc::ClientContext anonymous;
  auto refused = stub_->StreamOnlineFeatures(&anonymous);
  EXPECT_FALSE(refused->Read(&result));
  EXPECT_EQ(refused->Finish().error_code(), grpc::UNAUTHENTICATED);

  prometheus::TextSerializer text;
  const std::string exposition = text.Serialize(registry_->Collect());
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"OK\",grpc_method="
                                    "\"StreamOnlineFeatures\""));
  EXPECT_THAT(exposition, HasSubstr("mlops_grpc_server_handled_total{grpc_code=\"UNAUTHENTICATED\","
                                    "grpc_method=\"StreamOnlineFeatures\""));
}

TEST_F(OnlineTest, MaterializeAndStatusErrorsGetExactCodes) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  auto materialize = [&](const std::string& view, int64_t version, int64_t as_of,
                         const std::string& source, const char* token = kEditorToken) {
    grpc::ClientContext ctx;
    Auth(&ctx, token);
    fv1::MaterializeRequest req;
    req.set_view(view);
    req.set_version(version);
    req.set_as_of_micros(as_of);
    req.set_source_dataset_version_id(source);
    fv1::MaterializeResponse resp;
    return stub_->Materialize(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(materialize("nope", 0, kT0, ""), grpc::NOT_FOUND);
  EXPECT_EQ(materialize("spend", 9, kT0, ""), grpc::NOT_FOUND);
  EXPECT_EQ(materialize("spend", -1, kT0, ""), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(materialize("Bad", 0, kT0, ""), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(materialize("spend", 0, kMaxTimeMicros + 1, ""), grpc::INVALID_ARGUMENT);
  EXPECT_EQ(materialize("spend", 0, kT0, ""), grpc::NOT_FOUND);  // the dataset has no version
  EXPECT_EQ(materialize("spend", 0, kT0, std::string(64, 'a')), grpc::NOT_FOUND);
  EXPECT_EQ(materialize("spend", 0, kT0, "", kViewerToken), grpc::PERMISSION_DENIED);
  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  fv1::GetMaterializationStatusRequest req;
  req.set_view("nope");
  fv1::GetMaterializationStatusResponse resp;
  EXPECT_EQ(stub_->GetMaterializationStatus(&ctx, req, &resp).error_code(), grpc::NOT_FOUND);
  fv1::GetMaterializationStatusResponse st = Status();  // never materialized
  ASSERT_EQ(st.statuses_size(), 1);
  EXPECT_FALSE(st.statuses(0).has_last_run());
  EXPECT_EQ(st.statuses(0).replica_as_of_micros(), 0);
}

TEST_F(OnlineTest, WatcherMaterializesAutoViewsOnNewDatasetVersions) {
  // Lag is measured against ingestion's commit times (the real clock).
  now_micros_ = absl::ToUnixMicros(absl::Now()) + kHour;
  ASSERT_TRUE(CreateDataset("tx").ok());
  Ingest("tx", {MakeRow({I(1), T(kT0), D(1), S("a"), I(1)})});
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_AUTO), &r).ok());
  stack_->WatchOnce();
  fv1::GetMaterializationStatusResponse st = Status();
  ASSERT_EQ(st.statuses_size(), 1);
  EXPECT_EQ(st.statuses(0).last_success().trigger(), "registration");
  const std::string v2 = Ingest("tx", {MakeRow({I(1), T(kT0 + kHour), D(7), S("b"), I(2)})});
  st = Status();
  EXPECT_GT(st.statuses(0).data_lag_micros(), 0);
  EXPECT_NE(st.statuses(0).source_head_version_id(), st.statuses(0).last_success().source_dataset_version_id());
  stack_->WatchOnce();
  st = Status();
  EXPECT_EQ(st.statuses(0).last_success().trigger(), "new dataset version " + v2);
  EXPECT_EQ(st.statuses(0).replica_source_dataset_version_id(), v2);
  EXPECT_EQ(st.statuses(0).data_lag_micros(), 0);
  fv1::GetOnlineFeaturesResponse resp;
  ASSERT_TRUE(Online({I(1)}, now_micros_, &resp, {"spend:amount", "spend:sum_1d"}).ok());
  EXPECT_EQ(resp.rows(0).statuses(0), fv1::FEATURE_STATUS_EXPIRED);  // now is far past t0
  EXPECT_EQ(resp.views(0).source_dataset_version_id(), v2);
  // The background thread runs passes too, and stops cleanly.
  stack_->StartWatcher();
  stack_->StopWatcher();
}

// The skew test: random events, random entities and times; materialize as of
// t, then the online values at t equal historical retrieval at t, bit for bit.
TEST_F(OnlineTest, OnlineEqualsHistoricalBitForBit) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  std::mt19937_64 rng(42);
  std::vector<cv1::Row> events;
  for (int i = 0; i < 600; ++i) {
    const int64_t id = static_cast<int64_t>(rng() % 25);
    const int64_t t = kT0 + static_cast<int64_t>(rng() % (60 * kHour)) / 1000 * 1000;
    const double amount = std::ldexp(static_cast<double>(rng() % 1000000), -7) - 3.3;
    events.push_back(MakeRow({I(id), T(t), D(amount),
                              rng() % 4 == 0 ? Null() : S("c" + std::to_string(rng() % 5)),
                              rng() % 5 == 0 ? Null() : I(static_cast<int64_t>(rng() % 100) - 50)}));
  }
  Ingest("tx", events);
  fv1::RegisterFeatureViewResponse r;
  ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
  int compared = 0, present = 0;
  for (int round = 0; round < 6; ++round) {
    const int64_t t = kT0 - kHour + static_cast<int64_t>(rng() % (64 * kHour));
    fv1::MaterializeResponse m;
    ASSERT_TRUE(Materialize(t, &m).ok());
    ASSERT_EQ(m.run().state(), fv1::MATERIALIZATION_STATE_SUCCEEDED) << m.run().error();
    std::vector<cv1::Value> keys;
    std::vector<std::pair<int64_t, int64_t>> rows;
    for (int k = 0; k < 12; ++k) {
      const int64_t id = static_cast<int64_t>(rng() % 30);  // some never seen
      keys.push_back(I(id));
      rows.emplace_back(id, t);
    }
    fv1::GetOnlineFeaturesResponse online;
    ASSERT_TRUE(Online(keys, t, &online).ok());
    std::vector<cv1::Row> historical = Historical(rows);
    ASSERT_EQ(historical.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      for (int f = 0; f < 10; ++f) {
        const cv1::Value& h = historical[i].values(2 + f);
        const cv1::Value& o = online.rows(static_cast<int>(i)).values(f);
        EXPECT_EQ(h.SerializeAsString(), o.SerializeAsString())
            << "round " << round << " entity " << rows[i].first << " feature " << f;
        EXPECT_EQ(online.rows(static_cast<int>(i)).statuses(f) == fv1::FEATURE_STATUS_PRESENT,
                  h.kind_case() != 0);
        ++compared;
        present += h.kind_case() != 0;
      }
    }
    // And after a reload from Postgres.
    if (round == 5) {
      StartFeatures();
      fv1::GetOnlineFeaturesResponse reloaded;
      ASSERT_TRUE(Online(keys, t, &reloaded).ok());
      EXPECT_EQ(reloaded.SerializeAsString(), online.SerializeAsString());
    }
  }
  EXPECT_EQ(compared, 6 * 12 * 10);
  EXPECT_GT(present, compared / 4);  // the comparison is not over NULLs only
}

}  // namespace
}  // namespace mlops::features::testing
