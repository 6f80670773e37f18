#pragma once
// The online/materialization pg tests' fixture: a view "spend" over "tx"
// with every kind of feature, and helpers for Materialize,
// GetOnlineFeatures, GetMaterializationStatus and historical retrieval of
// that view through gRPC. Header-only; tests only.

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/features/testing/service_fixture.h"

namespace mlops::features::testing {

inline fv1::FeatureDefinition Agg(const char* name, fv1::AggregationFunction fn, const char* column,
                           int64_t window) {
  fv1::FeatureDefinition f;
  f.set_name(name);
  f.mutable_aggregation()->set_function(fn);
  f.mutable_aggregation()->set_column(column);
  f.mutable_aggregation()->set_window_micros(window);
  return f;
}

inline fv1::FeatureDefinition Raw(const char* name, const char* column) {
  fv1::FeatureDefinition f;
  f.set_name(name);
  f.mutable_raw()->set_column(column);
  return f;
}

// Every kind of feature over "tx", TTL 10 h.
inline fv1::FeatureViewSpec FullSpec(fv1::MaterializationPolicy policy) {
  fv1::FeatureViewSpec spec;
  spec.set_name("spend");
  spec.set_source_dataset("tx");
  spec.set_entity_key_column("id");
  spec.set_ttl_micros(10 * kHour);
  spec.set_materialization(policy);
  *spec.add_features() = Raw("amount", "amount");
  *spec.add_features() = Raw("cat", "cat");
  *spec.add_features() = Raw("n", "n");
  *spec.add_features() = Agg("events_1h", fv1::AGGREGATION_FUNCTION_COUNT, "", kHour);
  *spec.add_features() = Agg("sum_1d", fv1::AGGREGATION_FUNCTION_SUM, "amount", 24 * kHour);
  *spec.add_features() = Agg("mean_1d", fv1::AGGREGATION_FUNCTION_MEAN, "amount", 24 * kHour);
  *spec.add_features() = Agg("std_1d", fv1::AGGREGATION_FUNCTION_STDDEV, "amount", 24 * kHour);
  *spec.add_features() = Agg("min_3h", fv1::AGGREGATION_FUNCTION_MIN, "n", 3 * kHour);
  *spec.add_features() = Agg("max_3h", fv1::AGGREGATION_FUNCTION_MAX, "amount", 3 * kHour);
  *spec.add_features() = Agg("last_cat_1d", fv1::AGGREGATION_FUNCTION_LAST, "cat", 24 * kHour);
  return spec;
}

// Materialize of view "spend" as of a time, as the editor.
inline grpc::Status MaterializeSpend(fv1::FeatureService::Stub* stub, int64_t as_of,
                                     fv1::MaterializationMode mode,
                                     fv1::MaterializeResponse* resp) {
  grpc::ClientContext ctx;
  Auth(&ctx);
  fv1::MaterializeRequest req;
  req.set_view("spend");
  req.set_as_of_micros(as_of);
  req.set_mode(mode);
  return stub->Materialize(&ctx, req, resp);
}

class OnlineTest : public FeaturesPgTest {
 protected:
  grpc::Status Materialize(int64_t as_of, fv1::MaterializeResponse* resp,
                           fv1::MaterializationMode mode = fv1::MATERIALIZATION_MODE_FULL) {
    return MaterializeSpend(stub_.get(), as_of, mode, resp);
  }

  // Dataset "tx" with one row (customer 1 at kT0, amount 1.5), the full
  // "spend" view registered (manual policy) and materialized as of kT0.
  void OneRowMaterialized() {
    ASSERT_TRUE(CreateDataset("tx").ok());
    Ingest("tx", {MakeRow({I(1), T(kT0), D(1.5), S("a"), Null()})});
    fv1::RegisterFeatureViewResponse r;
    ASSERT_TRUE(Register(FullSpec(fv1::MATERIALIZATION_POLICY_MANUAL), &r).ok());
    fv1::MaterializeResponse m;
    ASSERT_TRUE(Materialize(kT0, &m).ok());
  }

  grpc::Status Online(const std::vector<cv1::Value>& keys, int64_t at,
                      fv1::GetOnlineFeaturesResponse* resp,
                      std::vector<std::string> refs = {"spend:*"}) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::GetOnlineFeaturesRequest req;
    for (const std::string& r : refs) req.add_feature_refs(r);
    for (const cv1::Value& k : keys) *req.add_entity_rows() = MakeRow({k});
    req.set_request_time_micros(at);
    return stub_->GetOnlineFeatures(&ctx, req, resp);
  }

  fv1::GetMaterializationStatusResponse Status() {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    fv1::GetMaterializationStatusRequest req;
    req.set_view("spend");
    fv1::GetMaterializationStatusResponse resp;
    EXPECT_TRUE(stub_->GetMaterializationStatus(&ctx, req, &resp).ok());
    return resp;
  }

  // Historical values of (key, t) rows for every feature of spend.
  std::vector<cv1::Row> Historical(const std::vector<std::pair<int64_t, int64_t>>& rows) {
    fv1::GetHistoricalFeaturesRequest req;
    cv1::Schema* s = req.mutable_inline_rows()->mutable_schema();
    AddColumn(s, "id", cv1::DATA_TYPE_INT64, false, cv1::COLUMN_ROLE_ENTITY_KEY);
    AddColumn(s, "at", cv1::DATA_TYPE_TIMESTAMP, false, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
    for (const auto& [id, t] : rows) *req.mutable_inline_rows()->add_rows() = MakeRow({I(id), T(t)});
    req.add_feature_refs("spend:*");
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    auto reader = stub_->GetHistoricalFeatures(&ctx, req);
    fv1::GetHistoricalFeaturesResponse msg;
    std::vector<cv1::Row> out;
    while (reader->Read(&msg)) {
      for (const auto& r : msg.chunk().rows()) out.push_back(r);
    }
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
};

}  // namespace mlops::features::testing
