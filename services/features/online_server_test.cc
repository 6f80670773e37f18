// OnlineServer without gRPC or Postgres: the response bytes it writes itself
// equal protobuf's serialization of the same response built message by
// message (testing/online_reference.h) over random snapshots of every value
// type, status and key type; the plan cache follows catalog swaps and keeps
// per-request checks; bad requests keep their exact codes and messages.

#include "services/features/online_server.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/online_wire.h"
#include "services/features/testing/online_reference.h"

namespace mlops::features {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kAsOf = 1700000000LL * 1000000;
constexpr int64_t kTtl = 3600LL * 1000000;

struct FeatureDef {
  const char* name;
  DataType type;
  Aggregation aggregation;
};

// A view of `entities` entities (keys 0.. as INT64, or "u0".. as STRING)
// with random values of each feature's type, ~20 % NULL; last events spread
// over two TTLs before kAsOf.
std::shared_ptr<const LoadedView> RandomView(const std::string& name, int64_t version,
                                             bool string_keys, const std::vector<FeatureDef>& defs,
                                             int entities, uint32_t seed, int64_t run_id = 1) {
  std::mt19937_64 rng(seed);
  ColumnVector keys(string_keys ? DataType::kString : DataType::kInt64);
  std::vector<FeatureColumn> columns;
  std::vector<std::string> names;
  for (const FeatureDef& d : defs) {
    columns.emplace_back(d.type);
    names.emplace_back(d.name);
  }
  auto loaded = std::make_shared<LoadedView>();
  for (int e = 0; e < entities; ++e) {
    if (string_keys) {
      keys.values.strings.push_back("u" + std::to_string(e));
    } else {
      keys.values.ints.push_back(e);
    }
    for (FeatureColumn& c : columns) {
      const bool null = rng() % 5 == 0;
      c.status.push_back(null ? ValueStatus::kNull : ValueStatus::kPresent);
      switch (c.type()) {
        case DataType::kDouble:
          c.values.doubles.push_back(
              null ? 0
                   : std::ldexp(static_cast<double>(rng() % 2000) - 1000,
                                static_cast<int>(rng() % 40) - 20));
          break;
        case DataType::kString: {
          // Lengths 0..300: one- and two-byte length varints.
          const size_t len = null ? 0 : rng() % 301;
          c.values.strings.push_back(std::string(len, static_cast<char>('a' + rng() % 26)));
          break;
        }
        case DataType::kBool:
          c.values.ints.push_back(null ? 0 : static_cast<int64_t>(rng() % 2));
          break;
        default:  // INT64, TIMESTAMP: negative (10-byte varints), small, large
          c.values.ints.push_back(null ? 0 : static_cast<int64_t>(rng()) >> (rng() % 64));
      }
    }
    loaded->last_event_micros.push_back(kAsOf - static_cast<int64_t>(rng() % (2 * kTtl)));
  }
  FeatureViewDefinition& d = loaded->view.definition;
  d.name = name;
  d.version = version;
  d.entity_column = string_keys ? "user" : "id";
  d.ttl_micros = kTtl;
  for (const FeatureDef& f : defs) d.features.push_back({f.name, f.name, f.aggregation, 0});
  loaded->view.view.set_version(version);
  loaded->view.view.set_entity_key_type(string_keys ? cv1::DATA_TYPE_STRING
                                                    : cv1::DATA_TYPE_INT64);
  auto snapshot = OnlineSnapshot::FromRows(name, version, kAsOf, names, keys, std::move(columns));
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  loaded->snapshot = *snapshot;
  loaded->source_version_id = "src-" + name;
  loaded->run_id = run_id;
  return loaded;
}

const std::vector<FeatureDef> kEveryType = {
    {"x", DataType::kDouble, Aggregation::kRaw},
    {"n", DataType::kInt64, Aggregation::kRaw},
    {"s", DataType::kString, Aggregation::kRaw},
    {"b", DataType::kBool, Aggregation::kRaw},
    {"t", DataType::kTimestamp, Aggregation::kRaw},
    {"x_sum", DataType::kDouble, Aggregation::kSum},
    {"n_max", DataType::kInt64, Aggregation::kMax},
    {"s_last", DataType::kString, Aggregation::kLast},
};

class OnlineServerTest : public ::testing::Test {
 protected:
  OnlineServerTest() {
    online_.Put(RandomView("a", 1, false, kEveryType, 50, 1));
    online_.Put(RandomView("a", 2, false, kEveryType, 60, 2));
    online_.Put(RandomView("b", 1, true, kEveryType, 40, 3));
  }

  // Expects the server's bytes to equal the reference message's.
  void ExpectSameAsReference(const v1::GetOnlineFeaturesRequest& req) {
    absl::StatusOr<std::string> bytes = server_.GetSerialized(req);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    v1::GetOnlineFeaturesResponse reference;
    testing::ReferenceOnlineResponse(*online_.Load(), req, req.request_time_micros(), &reference);
    ASSERT_EQ(*bytes, reference.SerializeAsString()) << req.ShortDebugString();
    v1::GetOnlineFeaturesResponse parsed;
    ASSERT_TRUE(server_.Get(req, &parsed).ok());
    EXPECT_EQ(parsed.rows_size(), req.entity_rows_size());
  }

  OnlineViews online_;
  ViewRegistry views_{nullptr, nullptr, [] { return kAsOf; }};
  OnlineServer server_{&online_, &views_, nullptr, 1000};
};

TEST_F(OnlineServerTest, WireBytesEqualProtobufSerializationOnRandomRequests) {
  std::mt19937_64 rng(7);
  // A few shapes (pinned, unpinned, "*", both key types), so that later
  // trials take cached plans.
  const std::vector<std::vector<std::string>> shapes = {
      {"a:*"},
      {"b:*", "a:x"},
      {"a:x", "a:s", "b:s_last", "a:n_max"},
      {"a@2:t", "a:*", "b@1:n"},
      {"a@1:b", "a@1:s", "b:x"},
      {"b:*", "a:*", "b:x"},
  };
  for (int trial = 0; trial < 300; ++trial) {
    v1::GetOnlineFeaturesRequest req;
    for (const std::string& r : shapes[rng() % shapes.size()]) req.add_feature_refs(r);
    req.add_entity_columns("id");
    req.add_entity_columns("user");
    const int n = 1 + static_cast<int>(rng() % 120);
    for (int e = 0; e < n; ++e) {
      cv1::Row* row = req.add_entity_rows();
      row->add_values()->set_int64_value(static_cast<int64_t>(rng() % 70));  // some unknown
      row->add_values()->set_string_value("u" + std::to_string(rng() % 50));
    }
    // Before, within and after the TTL of the last events.
    req.set_request_time_micros(kAsOf + static_cast<int64_t>(rng() % (2 * kTtl)) - kTtl / 2);
    ExpectSameAsReference(req);
  }
}

TEST_F(OnlineServerTest, OneKeyColumnServesEveryView) {
  v1::GetOnlineFeaturesRequest req;
  req.add_feature_refs("a:n");
  req.add_feature_refs("a:x_sum");
  req.add_entity_rows()->add_values()->set_int64_value(3);
  req.add_entity_rows()->add_values()->set_int64_value(1000);  // unknown
  req.set_request_time_micros(kAsOf);
  ExpectSameAsReference(req);
  v1::GetOnlineFeaturesResponse resp;
  ASSERT_TRUE(server_.Get(req, &resp).ok());
  EXPECT_EQ(resp.columns(0).ref(), "a@2:n");
  EXPECT_EQ(resp.views(0).source_dataset_version_id(), "src-a");
  EXPECT_EQ(resp.rows(1).statuses(1), v1::FEATURE_STATUS_ENTITY_UNKNOWN);
}

TEST_F(OnlineServerTest, CachedPlanFollowsANewCatalog) {
  v1::GetOnlineFeaturesRequest req;
  req.add_feature_refs("b:*");
  for (int e = 0; e < 40; ++e) {
    req.add_entity_rows()->add_values()->set_string_value("u" + std::to_string(e));
  }
  req.set_request_time_micros(kAsOf);
  ExpectSameAsReference(req);
  const std::string before = *server_.GetSerialized(req);
  // A newer run of b@1 with other values, and a new version b@2 (the
  // unpinned ref moves to it).
  online_.Put(RandomView("b", 1, true, kEveryType, 40, 99, /*run_id=*/2));
  ExpectSameAsReference(req);
  EXPECT_NE(*server_.GetSerialized(req), before);
  online_.Put(RandomView("b", 2, true, {{"only", DataType::kInt64, Aggregation::kRaw}}, 10, 5));
  ExpectSameAsReference(req);
  v1::GetOnlineFeaturesResponse resp;
  ASSERT_TRUE(server_.Get(req, &resp).ok());
  ASSERT_EQ(resp.columns_size(), 1);
  EXPECT_EQ(resp.columns(0).ref(), "b@2:only");
}

TEST_F(OnlineServerTest, BadRequestsKeepExactCodesWithAndWithoutACachedPlan) {
  v1::GetOnlineFeaturesRequest good;
  good.add_feature_refs("a:x");
  good.add_feature_refs("b:s");
  good.add_entity_columns("id");
  good.add_entity_columns("user");
  cv1::Row* row = good.add_entity_rows();
  row->add_values()->set_int64_value(1);
  row->add_values()->set_string_value("u1");
  for (int pass = 0; pass < 2; ++pass) {  // pass 1: the shape's plan is cached
    SCOPED_TRACE(pass);
    ASSERT_TRUE(server_.GetSerialized(good).ok());
    v1::GetOnlineFeaturesRequest req = good;
    req.clear_entity_rows();
    EXPECT_EQ(server_.GetSerialized(req).status().code(), absl::StatusCode::kInvalidArgument);
    req = good;
    for (int i = 0; i < 1000; ++i) *req.add_entity_rows() = good.entity_rows(0);
    EXPECT_THAT(server_.GetSerialized(req).status().message(), HasSubstr("the limit is 1000"));
    req = good;
    req.set_request_time_micros(-(1LL << 62));
    EXPECT_THAT(server_.GetSerialized(req).status().message(), HasSubstr("request_time_micros"));
    req = good;
    *req.add_entity_rows() = good.entity_rows(0);
    req.mutable_entity_rows(1)->mutable_values(1)->set_int64_value(5);
    EXPECT_EQ(server_.GetSerialized(req).status().message(),
              "entity_rows[1]: view \"b\" expects a STRING key, got INT64");
    req = good;
    req.mutable_entity_rows(0)->mutable_values()->RemoveLast();
    EXPECT_EQ(server_.GetSerialized(req).status().message(),
              "entity_rows[0]: 1 values, expected 2");
  }
  v1::GetOnlineFeaturesRequest req = good;
  req.add_feature_refs("a:nope");
  EXPECT_EQ(server_.GetSerialized(req).status().code(), absl::StatusCode::kNotFound);
  req = good;
  req.add_feature_refs("a@1:n");  // a@2 unpinned, a@1 pinned
  EXPECT_THAT(server_.GetSerialized(req).status().message(), HasSubstr("two versions"));
  req = good;
  req.clear_feature_refs();
  EXPECT_EQ(server_.GetSerialized(req).status().message(),
            "feature_refs: at least one is required");
}

TEST_F(OnlineServerTest, AViewNotLoadedHereIsDeferredWithoutReadingTheRegistry) {
  // views_ has no store: a registry read here would crash.
  v1::GetOnlineFeaturesRequest req;
  req.add_feature_refs("a:x");
  req.add_feature_refs("c:x");
  req.add_entity_rows()->add_values()->set_int64_value(1);
  bool deferred = false;
  absl::StatusOr<std::string> out = server_.GetSerialized(req, &deferred);
  EXPECT_TRUE(deferred);
  EXPECT_EQ(out.status().code(), absl::StatusCode::kUnavailable);
  // Errors found before the registry would be asked are not deferred.
  req.clear_entity_rows();
  deferred = false;
  EXPECT_EQ(server_.GetSerialized(req, &deferred).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(deferred);
}

TEST(OnlineWireTest, VarintsAndValuesMatchProtobuf) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{127}, int64_t{128}, int64_t{-1},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    char buf[32];
    const size_t len = static_cast<size_t>(wire::PutVarintValue(buf, wire::kInt64Tag,
                                                                static_cast<uint64_t>(v)) - buf);
    v1::OnlineFeatureRow row;
    row.add_values()->set_int64_value(v);
    EXPECT_EQ(std::string(buf, len), row.SerializeAsString()) << v;
    EXPECT_EQ(wire::VarintSize(static_cast<uint64_t>(v)) + 3, len);
  }
}

}  // namespace
}  // namespace mlops::features
