// Historical retrieval through the GetHistoricalFeatures stream, fed by the
// real ingestion service: point-in-time values (event exactly at t, nothing
// from the future, TTL, windows), dataset input, pinned source versions,
// several views, determinism and bad input codes.
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/testing/service_fixture.h"

namespace mlops::features::testing {
namespace {

using ::testing::HasSubstr;

class HistoricalTest : public FeaturesPgTest {
 protected:
  void SetUp() override {
    FeaturesPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(CreateDataset("tx").ok());
    // Entity 1: amounts 1, 2, 3 at t0, t0+1h, t0+2h; entity 2: 10 at t0+1h.
    v1_ = Ingest("tx", {MakeRow({I(1), T(kT0), D(1), S("a"), I(5)}),
                        MakeRow({I(1), T(kT0 + kHour), D(2), Null(), I(6)}),
                        MakeRow({I(2), T(kT0 + kHour), D(10), S("z"), Null()})});
    v2_ = Ingest("tx", {MakeRow({I(1), T(kT0 + 2 * kHour), D(3), S("c"), I(7)})});
    fv1::FeatureViewSpec spec;
    spec.set_name("spend");
    spec.set_source_dataset("tx");
    spec.set_entity_key_column("id");
    spec.set_ttl_micros(48 * kHour);
    auto* f = spec.add_features();
    f->set_name("amount");
    f->mutable_raw()->set_column("amount");
    f = spec.add_features();
    f->set_name("cat");
    f->mutable_raw()->set_column("cat");
    f = spec.add_features();
    f->set_name("events_1h");
    f->mutable_aggregation()->set_function(fv1::AGGREGATION_FUNCTION_COUNT);
    f->mutable_aggregation()->set_window_micros(kHour);
    fv1::RegisterFeatureViewResponse r;
    ASSERT_TRUE(Register(spec, &r).ok());
    fv1::FeatureViewSpec counts;
    counts.set_name("counts");
    counts.set_source_dataset("tx");
    counts.set_entity_key_column("id");
    f = counts.add_features();
    f->set_name("n_max_1d");
    f->mutable_aggregation()->set_function(fv1::AGGREGATION_FUNCTION_MAX);
    f->mutable_aggregation()->set_column("n");
    f->mutable_aggregation()->set_window_micros(24 * kHour);
    ASSERT_TRUE(Register(counts, &r).ok());
  }

  static fv1::GetHistoricalFeaturesRequest Inline(const std::vector<std::pair<int64_t, int64_t>>& rows) {
    fv1::GetHistoricalFeaturesRequest req;
    cv1::Schema* s = req.mutable_inline_rows()->mutable_schema();
    AddColumn(s, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(s, "at", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    AddColumn(s, "label", cv1::DATA_TYPE_BOOL, true, cv1::COLUMN_ROLE_LABEL);
    for (const auto& [id, t] : rows) {
      cv1::Value b;
      b.set_bool_value(id % 2 == 0);
      *req.mutable_inline_rows()->add_rows() = MakeRow({I(id), T(t), b});
    }
    return req;
  }

  grpc::Status Get(const fv1::GetHistoricalFeaturesRequest& req, fv1::HistoricalFeaturesHeader* header,
                   std::vector<cv1::Row>* rows) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    auto reader = stub_->GetHistoricalFeatures(&ctx, req);
    fv1::GetHistoricalFeaturesResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_header()) *header = msg.header();
      for (const auto& r : msg.chunk().rows()) rows->push_back(r);
    }
    return reader->Finish();
  }

  std::string v1_, v2_;
};

TEST_F(HistoricalTest, PointInTimeValuesThroughTheStream) {
  fv1::GetHistoricalFeaturesRequest req = Inline({{1, kT0 + kHour},           // exactly at an event
                                                  {1, kT0 + kHour - 1},       // just before it
                                                  {1, kT0 - 1},               // before any event
                                                  {3, kT0 + kHour},           // unknown entity
                                                  {1, kT0 + 2 * kHour + 49 * kHour},  // past TTL
                                                  {2, kT0 + 2 * kHour}});
  req.add_feature_refs("spend:*");
  req.add_feature_refs("counts:n_max_1d");
  req.set_chunk_rows(4);
  fv1::HistoricalFeaturesHeader header;
  std::vector<cv1::Row> rows;
  grpc::Status s = Get(req, &header, &rows);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(header.schema().columns_size(), 7);
  EXPECT_EQ(header.row_count(), 6);
  ASSERT_EQ(header.views_size(), 2);
  EXPECT_EQ(header.views(0).source_dataset_version_id(), v2_);  // the head
  EXPECT_EQ(header.resolved_feature_refs(0), "spend@1:amount");
  ASSERT_EQ(rows.size(), 6u);
  auto v = [&](size_t r, int c) { return rows[r].values(c); };
  EXPECT_EQ(v(0, 3).double_value(), 2);     // the event at t counts
  EXPECT_EQ(v(0, 4).kind_case(), 0);        // its cat is NULL (no fallback)
  EXPECT_EQ(v(0, 5).int64_value(), 1);      // window (t-1h, t]: t0 is out
  EXPECT_EQ(v(0, 6).int64_value(), 6);
  EXPECT_EQ(v(1, 3).double_value(), 1);     // never from the future
  EXPECT_EQ(v(1, 4).string_value(), "a");
  EXPECT_EQ(v(1, 5).int64_value(), 1);
  for (int c = 3; c < 7; ++c) EXPECT_EQ(v(2, c).kind_case(), 0) << c;  // unknown as of t
  for (int c = 3; c < 7; ++c) EXPECT_EQ(v(3, c).kind_case(), 0) << c;
  EXPECT_EQ(v(4, 3).kind_case(), 0);        // expired by TTL
  EXPECT_EQ(v(4, 5).int64_value(), 0);      // empty window: COUNT 0
  EXPECT_EQ(v(5, 3).double_value(), 10);
  EXPECT_EQ(v(5, 0).int64_value(), 2);      // input columns pass through
  EXPECT_TRUE(v(5, 2).bool_value());

  // Deterministic, and a pinned source version reads the older data.
  std::vector<cv1::Row> again;
  ASSERT_TRUE(Get(req, &header, &again).ok());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].SerializeAsString(), again[i].SerializeAsString()) << i;
  }
  fv1::GetHistoricalFeaturesRequest pinned = Inline({{1, kT0 + 3 * kHour}});
  pinned.add_feature_refs("spend:amount");
  (*pinned.mutable_source_dataset_versions())["spend"] = v1_;
  std::vector<cv1::Row> old_rows;
  ASSERT_TRUE(Get(pinned, &header, &old_rows).ok());
  EXPECT_EQ(header.views(0).source_dataset_version_id(), v1_);
  EXPECT_EQ(old_rows.at(0).values(3).double_value(), 2);
}

TEST_F(HistoricalTest, ConcurrentColdRequestsAgree) {
  // Several requests on a cold cache (EventTableCache makes them share one
  // table load; this checks that they all get the same answer).
  fv1::GetHistoricalFeaturesRequest req = Inline({{1, kT0 + kHour}, {2, kT0 + 2 * kHour}});
  req.add_feature_refs("spend:*");
  constexpr int kThreads = 4;
  std::vector<std::vector<cv1::Row>> rows(kThreads);
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      fv1::HistoricalFeaturesHeader header;
      statuses[i] = Get(req, &header, &rows[i]);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    ASSERT_EQ(rows[i].size(), 2u);
    EXPECT_EQ(rows[i][0].SerializeAsString(), rows[0][0].SerializeAsString());
    EXPECT_EQ(rows[i][1].values(3).double_value(), 10);
  }
}

TEST_F(HistoricalTest, DatasetInputIsReadFromIngestion) {
  cv1::Schema s;
  AddColumn(&s, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
  AddColumn(&s, "ts", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  ASSERT_TRUE(CreateDataset("queries", s).ok());
  const std::string qv = Ingest("queries", {MakeRow({I(1), T(kT0 + 2 * kHour)}),
                                            MakeRow({I(2), T(kT0)})});
  fv1::GetHistoricalFeaturesRequest req;
  req.mutable_dataset()->set_dataset("queries");
  req.add_feature_refs("spend@1:amount");
  req.set_full_feature_names(true);
  fv1::HistoricalFeaturesHeader header;
  std::vector<cv1::Row> rows;
  ASSERT_TRUE(Get(req, &header, &rows).ok());
  EXPECT_EQ(header.input_dataset_version_id(), qv);
  EXPECT_EQ(header.schema().columns(2).name(), "spend__amount");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].values(2).double_value(), 3);
  EXPECT_EQ(rows[1].values(2).kind_case(), 0);
}

TEST_F(HistoricalTest, BadRequestsGetExactCodes) {
  struct Case {
    const char* what;
    std::function<void(fv1::GetHistoricalFeaturesRequest*)> edit;
    grpc::StatusCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no refs", [](auto* r) { r->clear_feature_refs(); }, grpc::INVALID_ARGUMENT, "feature_refs"},
      {"malformed ref", [](auto* r) { r->add_feature_refs("spend"); }, grpc::INVALID_ARGUMENT,
       "feature_refs[1]"},
      {"unknown view", [](auto* r) { r->add_feature_refs("nope:x"); }, grpc::NOT_FOUND, "nope"},
      {"unknown feature", [](auto* r) { r->add_feature_refs("spend:nope"); }, grpc::NOT_FOUND,
       "no feature \"nope\""},
      {"unknown version", [](auto* r) { r->set_feature_refs(0, "spend@9:amount"); },
       grpc::NOT_FOUND, "spend@9"},
      {"two versions", [](auto* r) {
         r->set_feature_refs(0, "spend@1:amount");
         r->add_feature_refs("spend@2:cat");
       }, grpc::INVALID_ARGUMENT, "two versions"},
      {"pinned and unpinned differ", [](auto* r) {
         r->set_feature_refs(0, "spend@1:amount");
         r->add_feature_refs("spend:cat");  // newest is 2
       }, grpc::INVALID_ARGUMENT, "two versions (1 pinned, 2 unpinned)"},
      {"no rows", [](auto* r) { r->mutable_inline_rows()->clear_rows(); }, grpc::INVALID_ARGUMENT,
       "no input rows"},
      {"out of range", [](auto* r) {
         r->mutable_inline_rows()->mutable_rows(0)->mutable_values(1)->set_timestamp_micros(
             kMaxTimeMicros + 1);
       }, grpc::INVALID_ARGUMENT, "row 0, column \"at\": timestamp out of range"},
      {"wrong key type", [](auto* r) {
         r->mutable_inline_rows()->mutable_schema()->mutable_columns(0)->set_type(
             cv1::DATA_TYPE_STRING);
       }, grpc::INVALID_ARGUMENT, "expects DATA_TYPE_INT64"},
      {"arity", [](auto* r) { r->mutable_inline_rows()->mutable_rows(0)->add_values(); },
       grpc::INVALID_ARGUMENT, "row 0"},
      {"collision", [](auto* r) { r->add_feature_refs("spend:amount"); }, grpc::INVALID_ARGUMENT,
       "collides"},
      {"stray pin", [](auto* r) { (*r->mutable_source_dataset_versions())["counts"] = "x"; },
       grpc::INVALID_ARGUMENT, "not requested"},
  };
  fv1::GetFeatureViewRequest get;
  get.set_name("spend");
  fv1::FeatureView v1;
  {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    ASSERT_TRUE(stub_->GetFeatureView(&ctx, get, &v1).ok());
  }
  fv1::FeatureViewSpec changed = v1.spec();
  changed.set_ttl_micros(kHour);
  fv1::RegisterFeatureViewResponse r2;
  ASSERT_TRUE(Register(changed, &r2).ok());
  ASSERT_EQ(r2.view().version(), 2);
  for (const Case& c : cases) {
    fv1::GetHistoricalFeaturesRequest req = Inline({{1, kT0}});
    req.add_feature_refs("spend:amount");
    c.edit(&req);
    fv1::HistoricalFeaturesHeader header;
    std::vector<cv1::Row> rows;
    grpc::Status s = Get(req, &header, &rows);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message)) << c.what;
    EXPECT_TRUE(rows.empty()) << c.what;
  }
}

}  // namespace
}  // namespace mlops::features::testing
