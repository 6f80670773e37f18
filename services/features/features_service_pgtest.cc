// The feature service through in-process gRPC over a real Postgres, fed by
// the real ingestion service: registration and versioning, bad input with
// exact codes (nothing stored), historical retrieval through the stream.
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/testing/service_fixture.h"

namespace mlops::features::testing {
namespace {

using ::testing::HasSubstr;

fv1::FeatureViewSpec SpendSpec(int64_t window = 24 * kHour) {
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
  f->set_name("amount_sum_1d");
  f->mutable_aggregation()->set_function(fv1::AGGREGATION_FUNCTION_SUM);
  f->mutable_aggregation()->set_column("amount");
  f->mutable_aggregation()->set_window_micros(window);
  f = spec.add_features();
  f->set_name("events_1d");
  f->mutable_aggregation()->set_function(fv1::AGGREGATION_FUNCTION_COUNT);
  f->mutable_aggregation()->set_window_micros(window);
  return spec;
}

class FeatureServiceTest : public FeaturesPgTest {
 protected:
  int64_t CountVersions(const std::string& name) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::ListFeatureViewsRequest req;
    req.set_name_prefix(name);
    req.set_all_versions(true);
    fv1::ListFeatureViewsResponse resp;
    EXPECT_TRUE(stub_->ListFeatureViews(&ctx, req, &resp).ok());
    return resp.views_size();
  }
};

TEST_F(FeatureServiceTest, RegisterIsVersionedAndIdempotent) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  fv1::RegisterFeatureViewResponse r1, r2, r3;
  ASSERT_TRUE(Register(SpendSpec(), &r1).ok());
  EXPECT_TRUE(r1.created());
  EXPECT_EQ(r1.view().version(), 1);
  EXPECT_EQ(r1.view().spec().timestamp_column(), "ts");  // default filled in
  EXPECT_EQ(r1.view().spec().materialization(), fv1::MATERIALIZATION_POLICY_AUTO);
  EXPECT_EQ(r1.view().entity_key_type(), cv1::DATA_TYPE_INT64);
  EXPECT_EQ(r1.view().principal(), "alice");
  ASSERT_EQ(r1.view().feature_schema().columns_size(), 4);
  EXPECT_EQ(r1.view().feature_schema().columns(3).type(), cv1::DATA_TYPE_INT64);
  EXPECT_EQ(r1.view().definition_hash().size(), 64u);

  ASSERT_TRUE(Register(SpendSpec(), &r2).ok());  // identical: the same version
  EXPECT_FALSE(r2.created());
  EXPECT_EQ(r2.view().version(), 1);
  EXPECT_EQ(r2.view().definition_hash(), r1.view().definition_hash());

  ASSERT_TRUE(Register(SpendSpec(7 * 24 * kHour), &r3).ok());  // changed: version 2
  EXPECT_TRUE(r3.created());
  EXPECT_EQ(r3.view().version(), 2);
  EXPECT_NE(r3.view().definition_hash(), r1.view().definition_hash());

  grpc::ClientContext ctx;
  Auth(&ctx, kViewerToken);
  fv1::GetFeatureViewRequest get;
  get.set_name("spend");
  get.set_version(1);  // the old version stays readable
  fv1::FeatureView v1;
  ASSERT_TRUE(stub_->GetFeatureView(&ctx, get, &v1).ok());
  EXPECT_EQ(v1.spec().features(2).aggregation().window_micros(), 24 * kHour);
  grpc::ClientContext ctx2;
  Auth(&ctx2, kViewerToken);
  get.set_version(0);  // newest
  fv1::FeatureView newest;
  ASSERT_TRUE(stub_->GetFeatureView(&ctx2, get, &newest).ok());
  EXPECT_EQ(newest.version(), 2);
  EXPECT_EQ(CountVersions("spend"), 2);
}

TEST_F(FeatureServiceTest, ListPagesByNameAndVersion) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  for (const char* name : {"a_view", "b_view", "c_view"}) {
    fv1::FeatureViewSpec spec = SpendSpec();
    spec.set_name(name);
    fv1::RegisterFeatureViewResponse r;
    ASSERT_TRUE(Register(spec, &r).ok());
  }
  std::vector<std::string> names;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::ListFeatureViewsRequest req;
    req.mutable_page()->set_page_size(2);
    req.mutable_page()->set_page_token(token);
    fv1::ListFeatureViewsResponse resp;
    ASSERT_TRUE(stub_->ListFeatureViews(&ctx, req, &resp).ok());
    for (const auto& v : resp.views()) names.push_back(v.spec().name());
    token = resp.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a_view", "b_view", "c_view"}));
}

TEST_F(FeatureServiceTest, ConcurrentIdenticalRegistrationsCreateOneVersion) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  constexpr int kThreads = 6;
  std::vector<fv1::RegisterFeatureViewResponse> responses(kThreads);
  std::vector<grpc::Status> statuses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Register(SpendSpec(), &responses[i]); });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(responses[i].view().version(), 1);
    created += responses[i].created() ? 1 : 0;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(CountVersions("spend"), 1);
}

struct BadCase {
  const char* what;
  std::function<void(fv1::FeatureViewSpec*)> edit;
  grpc::StatusCode code;
  const char* message;
};

TEST_F(FeatureServiceTest, BadDefinitionsGetExactCodesAndStoreNothing) {
  ASSERT_TRUE(CreateDataset("tx").ok());
  const std::vector<BadCase> cases = {
      {"bad name", [](auto* s) { s->set_name("Spend"); }, grpc::INVALID_ARGUMENT, "name"},
      {"missing column", [](auto* s) { s->mutable_features(0)->mutable_raw()->set_column("nope"); },
       grpc::INVALID_ARGUMENT, "features[0].raw.column \"nope\": no such column"},
      {"wrong type", [](auto* s) {
         s->mutable_features(2)->mutable_aggregation()->set_column("cat");
       }, grpc::INVALID_ARGUMENT, "cannot aggregate column \"cat\" of type STRING"},
      {"bad window", [](auto* s) {
         s->mutable_features(2)->mutable_aggregation()->set_window_micros(0);
       }, grpc::INVALID_ARGUMENT, "window_micros"},
      {"window too long", [](auto* s) {
         s->mutable_features(2)->mutable_aggregation()->set_window_micros(3651 * 24 * kHour);
       }, grpc::INVALID_ARGUMENT, "longer than 3650 days"},
      {"entity key type", [](auto* s) { s->set_entity_key_column("amount"); },
       grpc::INVALID_ARGUMENT, "entity_column: \"amount\" is DOUBLE"},
      {"timestamp type", [](auto* s) { s->set_timestamp_column("n"); },
       grpc::INVALID_ARGUMENT, "it must be TIMESTAMP"},
      {"negative ttl", [](auto* s) { s->set_ttl_micros(-1); }, grpc::INVALID_ARGUMENT, "ttl_micros"},
      {"no function", [](auto* s) {
         s->mutable_features(2)->mutable_aggregation()->set_function(
             fv1::AGGREGATION_FUNCTION_UNSPECIFIED);
       }, grpc::INVALID_ARGUMENT, "features[2].aggregation.function"},
      {"duplicate feature", [](auto* s) { s->mutable_features(1)->set_name("amount"); },
       grpc::INVALID_ARGUMENT, "defined twice"},
      {"no features", [](auto* s) { s->clear_features(); }, grpc::INVALID_ARGUMENT, "features"},
      {"unknown dataset", [](auto* s) { s->set_source_dataset("nope"); }, grpc::NOT_FOUND,
       "dataset \"nope\" does not exist"},
  };
  for (const BadCase& c : cases) {
    fv1::FeatureViewSpec spec = SpendSpec();
    c.edit(&spec);
    fv1::RegisterFeatureViewResponse r;
    grpc::Status s = Register(spec, &r);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message)) << c.what;
  }
  fv1::RegisterFeatureViewResponse r;
  EXPECT_EQ(Register(SpendSpec(), &r, kViewerToken).error_code(), grpc::PERMISSION_DENIED);
  EXPECT_EQ(CountVersions(""), 0);  // nothing stored
}

}  // namespace
}  // namespace mlops::features::testing
