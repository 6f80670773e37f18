// ListModelVersions (metric filters and metric orders, with paging) and
// ListModels' tag filters, through the real service and store.
#include <cmath>
#include <limits>
#include <vector>

#include "services/registry/registry_service_fixture.h"

namespace mlops::registry {
namespace {

class VersionListPgTest : public RegistryServicePgTest {
 protected:
  // Registers versions 1..n of "churn" with these AUCs (NaN: no auc metric).
  void RegisterWithAucs(const std::vector<double>& aucs) {
    pb::ModelVersion v;
    for (double auc : aucs) {
      pb::RegisterModelVersionHeader h = Header("x", auc);
      if (std::isnan(auc)) {
        h.mutable_evaluations(0)->mutable_metrics()->clear();
        (*h.mutable_evaluations(0)->mutable_metrics())["logloss"] = 0.5;
      }
      ASSERT_TRUE(Register(h, "x", &v).ok());
    }
  }

  // Every page of `req` (page size 2), as version numbers in order.
  std::vector<int64_t> AllPages(pb::ListModelVersionsRequest req) {
    std::vector<int64_t> out;
    req.mutable_page()->set_page_size(2);
    for (int page = 0; page < 20; ++page) {
      pb::ListModelVersionsResponse resp;
      grpc::Status s = stub_->ListModelVersions(As("t-viewer").get(), req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const auto& v : resp.versions()) out.push_back(v.version());
      if (resp.next_page_token().empty()) break;
      req.mutable_page()->set_page_token(resp.next_page_token());
    }
    return out;
  }
};

constexpr double kNoAuc = std::numeric_limits<double>::quiet_NaN();

TEST_F(VersionListPgTest, MetricFilterKeepsOnlyVersionsThatPassAndHaveTheMetric) {
  RegisterWithAucs({0.70, 0.81, kNoAuc, 0.90, 0.80});
  pb::ListModelVersionsRequest req;
  req.set_model("churn");
  auto* f = req.add_metric_filters();
  f->set_metric("auc");
  f->set_comparison(pb::COMPARISON_GREATER_OR_EQUAL);
  f->set_value(0.8);
  EXPECT_EQ(AllPages(req), (std::vector<int64_t>{5, 4, 2}));
  f->set_comparison(pb::COMPARISON_LESS);
  EXPECT_EQ(AllPages(req), (std::vector<int64_t>{1}));
  // A second condition on another evaluation name nobody has: nothing passes.
  auto* g = req.add_metric_filters();
  g->set_metric("auc");
  g->set_comparison(pb::COMPARISON_GREATER);
  g->set_value(0);
  g->set_evaluation_name("holdout");
  EXPECT_TRUE(AllPages(req).empty());
}

TEST_F(VersionListPgTest, MetricFilterUsesTheLatestEvaluationOfThatName) {
  RegisterWithAucs({0.70});
  pb::AddEvaluationRequest add;
  add.mutable_version()->set_model("churn");
  add.mutable_version()->set_version(1);
  add.mutable_evaluation()->set_name("test");
  // Re-evaluated later on fresh data (the same data again is refused).
  add.mutable_evaluation()->set_dataset_version(std::string(64, 'e'));
  (*add.mutable_evaluation()->mutable_metrics())["auc"] = 0.95;
  pb::ModelVersion out;
  grpc::Status added = stub_->AddEvaluation(As("t-editor").get(), add, &out);
  ASSERT_TRUE(added.ok()) << added.error_message();
  pb::ListModelVersionsRequest req;
  auto* f = req.add_metric_filters();
  f->set_metric("auc");
  f->set_comparison(pb::COMPARISON_GREATER);
  f->set_value(0.9);
  EXPECT_EQ(AllPages(req), (std::vector<int64_t>{1}));
}

TEST_F(VersionListPgTest, MetricOrdersPageThroughTiesAndVersionsLackingTheMetric) {
  RegisterWithAucs({0.80, kNoAuc, 0.90, 0.80, 0.70, kNoAuc, 0.80});
  pb::ListModelVersionsRequest req;
  req.set_model("churn");
  req.set_order(pb::MODEL_VERSION_ORDER_METRIC_DESC);
  req.set_order_metric("auc");
  // Ties (0.80: versions 1, 4, 7) and the versions lacking the metric (last)
  // go in the metric's direction: newest first here.
  EXPECT_EQ(AllPages(req), (std::vector<int64_t>{3, 7, 4, 1, 5, 6, 2}));
  req.set_order(pb::MODEL_VERSION_ORDER_METRIC_ASC);
  EXPECT_EQ(AllPages(req), (std::vector<int64_t>{5, 1, 4, 7, 3, 2, 6}));
}

TEST_F(VersionListPgTest, BadFiltersOrdersAndTokensAreInvalidArgument) {
  RegisterWithAucs({0.80, 0.85, 0.9});
  auto code = [&](const pb::ListModelVersionsRequest& req) {
    pb::ListModelVersionsResponse resp;
    return stub_->ListModelVersions(As("t-viewer").get(), req, &resp).error_code();
  };
  pb::ListModelVersionsRequest no_metric;
  no_metric.add_metric_filters()->set_comparison(pb::COMPARISON_GREATER);
  EXPECT_EQ(code(no_metric), grpc::StatusCode::INVALID_ARGUMENT);
  pb::ListModelVersionsRequest no_comparison;
  no_comparison.add_metric_filters()->set_metric("auc");
  EXPECT_EQ(code(no_comparison), grpc::StatusCode::INVALID_ARGUMENT);
  pb::ListModelVersionsRequest no_order_metric;
  no_order_metric.set_order(pb::MODEL_VERSION_ORDER_METRIC_DESC);
  EXPECT_EQ(code(no_order_metric), grpc::StatusCode::INVALID_ARGUMENT);

  // A token made for the version order is refused by a metric order.
  pb::ListModelVersionsRequest by_version;
  by_version.mutable_page()->set_page_size(1);
  pb::ListModelVersionsResponse first;
  ASSERT_TRUE(stub_->ListModelVersions(As("t-viewer").get(), by_version, &first).ok());
  pb::ListModelVersionsRequest by_metric;
  by_metric.set_order(pb::MODEL_VERSION_ORDER_METRIC_DESC);
  by_metric.set_order_metric("auc");
  by_metric.mutable_page()->set_page_token(first.next_page_token());
  EXPECT_EQ(code(by_metric), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(VersionListPgTest, ListModelsKeepsModelsCarryingEveryTag) {
  auto create = [&](const std::string& name, const std::string& team, const std::string& tier) {
    pb::CreateModelRequest req;
    req.set_name(name);
    auto* a = req.add_tags();
    a->set_key("team");
    a->set_value(team);
    auto* b = req.add_tags();
    b->set_key("tier");
    b->set_value(tier);
    pb::Model m;
    ASSERT_TRUE(stub_->CreateModel(As("t-editor").get(), req, &m).ok());
  };
  create("fraud", "risk", "gold");
  create("churn_b", "growth", "gold");
  create("limits", "risk", "silver");
  auto names = [&](const std::vector<std::pair<std::string, std::string>>& tags) {
    pb::ListModelsRequest req;
    for (const auto& [k, v] : tags) {
      auto* t = req.add_tags();
      t->set_key(k);
      t->set_value(v);
    }
    pb::ListModelsResponse resp;
    EXPECT_TRUE(stub_->ListModels(As("t-viewer").get(), req, &resp).ok());
    std::vector<std::string> out;
    for (const auto& m : resp.models()) out.push_back(m.name());
    return out;
  };
  EXPECT_EQ(names({{"team", "risk"}}), (std::vector<std::string>{"fraud", "limits"}));
  EXPECT_EQ(names({{"team", "risk"}, {"tier", "gold"}}), (std::vector<std::string>{"fraud"}));
  EXPECT_TRUE(names({{"team", "it's \"quoted\""}}).empty());
  EXPECT_EQ(names({}).size(), 3u);
}

}  // namespace
}  // namespace mlops::registry
