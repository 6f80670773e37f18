// EventTableCache over the real ingestion service: tables read through the
// wire decoder and the SourceColumnCache equal tables read view by view, and
// views over one dataset version share its columns.
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "services/features/event_table_cache.h"
#include "services/features/testing/service_fixture.h"

namespace mlops::features::testing {
namespace {

class EventTableCacheTest : public FeaturesPgTest {
 protected:
  void SetUp() override {
    FeaturesPgTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    client_ = std::make_unique<IngestionClient>(
        ingestion_server_->InProcessChannel(), [](std::chrono::milliseconds deadline) {
          auto ctx = std::make_unique<grpc::ClientContext>();
          ctx->set_deadline(std::chrono::system_clock::now() + deadline);
          Auth(ctx.get(), kViewerToken);
          return ctx;
        });
    ASSERT_TRUE(CreateDataset("tx").ok());
    // More rows than one read chunk (16384), NULLs in the nullable columns.
    std::mt19937_64 rng(42);
    std::vector<cv1::Row> rows;
    for (int i = 0; i < 40000; ++i) {
      rows.push_back(MakeRow({I(static_cast<int64_t>(rng() % 700)),
                              T(kT0 + static_cast<int64_t>(rng() % 1000) * kHour),
                              D(static_cast<double>(rng() % 10000) / 8),
                              rng() % 5 == 0 ? Null() : S("c" + std::to_string(rng() % 30)),
                              i > 30000 && rng() % 3 == 0 ? Null() : I(i)}));
    }
    version_ = Ingest("tx", rows);
    ASSERT_FALSE(version_.empty());
  }

  static FeatureViewDefinition View(const std::string& name,
                                    const std::vector<std::string>& columns) {
    FeatureViewDefinition d;
    d.name = name;
    d.version = 1;
    d.entity_column = "id";
    d.event_time_column = "ts";
    d.source_dataset = "tx";
    for (const std::string& c : columns) d.features.push_back({c + "_f", c, Aggregation::kRaw, 0});
    return d;
  }

  std::unique_ptr<IngestionClient> client_;
  std::string version_;
};

void ExpectSameTable(const EventTable& a, const EventTable& b) {
  ASSERT_EQ(a.num_events(), b.num_events());
  ASSERT_EQ(a.num_entities(), b.num_entities());
  for (size_t e = 0; e < a.num_entities(); ++e) {
    ASSERT_EQ(a.EntityBegin(static_cast<int32_t>(e)), b.EntityBegin(static_cast<int32_t>(e)));
  }
  for (int64_t i = 0; i < a.num_events(); ++i) {
    ASSERT_EQ(a.event_times()[i], b.event_times()[i]) << i;
  }
  ASSERT_EQ(a.definition().features.size(), b.definition().features.size());
  for (size_t f = 0; f < a.definition().features.size(); ++f) {
    const EventColumn& x = a.ColumnOfFeature(f);
    const EventColumn& y = b.ColumnOfFeature(f);
    ASSERT_EQ(x.type(), y.type());
    ASSERT_EQ(x.dictionary(), y.dictionary());
    for (int64_t i = 0; i < a.num_events(); ++i) {
      ASSERT_EQ(x.IsValid(i), y.IsValid(i)) << "feature " << f << " event " << i;
      switch (x.type()) {
        case DataType::kDouble: ASSERT_EQ(x.doubles()[i], y.doubles()[i]); break;
        case DataType::kString: ASSERT_EQ(x.codes()[i], y.codes()[i]); break;
        case DataType::kBool: ASSERT_EQ(x.bools()[i], y.bools()[i]); break;
        default: ASSERT_EQ(x.ints()[i], y.ints()[i]); break;
      }
    }
  }
}

TEST_F(EventTableCacheTest, ViewsOverOneVersionShareItsColumnsAndBuildTheSameTables) {
  ThreadPool pool(2);
  EventTableCache cache(client_.get(), &pool, size_t{1} << 30);
  const FeatureViewDefinition a = View("a", {"amount", "cat"});
  const FeatureViewDefinition b = View("b", {"cat", "n"});
  const FeatureViewDefinition c = View("c", {"n", "amount"});

  auto ta = cache.Get(a, version_);
  ASSERT_TRUE(ta.ok()) << ta.status();
  EXPECT_EQ(cache.sources().size(), 0u);  // one view so far: nothing kept
  auto tb = cache.Get(b, version_);
  ASSERT_TRUE(tb.ok()) << tb.status();
  EXPECT_EQ(cache.sources().size(), 1u);  // a second view: its columns are kept
  const size_t after_b = cache.sources().bytes();
  EXPECT_GE(after_b, size_t{40000} * (8 + 8 + 8));
  auto tc = cache.Get(c, version_);
  ASSERT_TRUE(tc.ok()) << tc.status();
  EXPECT_GT(cache.sources().bytes(), after_b);  // only amount was read and added

  for (const auto& [def, table] : {std::make_pair(a, *ta), std::make_pair(b, *tb),
                                   std::make_pair(c, *tc)}) {
    auto alone = LoadEventTable(*client_, def, version_, &pool);
    ASSERT_TRUE(alone.ok()) << alone.status();
    EXPECT_EQ(table->num_events(), 40000);
    ExpectSameTable(*table, **alone);
  }
}

TEST_F(EventTableCacheTest, SourceColumnsBeyondTheBoundAreNotKept) {
  ThreadPool pool(2);
  EventTableCache cache(client_.get(), &pool, size_t{1} << 30, /*source_max_bytes=*/1000);
  ASSERT_TRUE(cache.Get(View("a", {"amount"}), version_).ok());
  auto tb = cache.Get(View("b", {"cat"}), version_);
  ASSERT_TRUE(tb.ok()) << tb.status();
  EXPECT_EQ(cache.sources().bytes(), 0u);
  EXPECT_EQ(cache.sources().size(), 0u);
  auto alone = LoadEventTable(*client_, View("b", {"cat"}), version_, &pool);
  ASSERT_TRUE(alone.ok());
  ExpectSameTable(**tb, **alone);
}

TEST_F(EventTableCacheTest, IdleSourceColumnsAreDropped) {
  ThreadPool pool(2);
  SourceColumnCache sources(size_t{1} << 30, std::chrono::milliseconds(200));
  for (const char* view : {"a", "b"}) {
    auto t = LoadEventTable(*client_, View(view, {"amount"}), version_, &pool, &sources);
    ASSERT_TRUE(t.ok()) << t.status();
  }
  EXPECT_EQ(sources.size(), 1u);
  for (int i = 0; i < 100 && sources.size() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(sources.size(), 0u);
  EXPECT_EQ(sources.bytes(), 0u);
}

TEST_F(EventTableCacheTest, AViewThatNoLongerFitsTheSchemaFailsPrecondition) {
  ThreadPool pool(1);
  EventTableCache cache(client_.get(), &pool, size_t{1} << 30);
  FeatureViewDefinition bad = View("bad", {"amount"});
  bad.entity_column = "amount";  // DOUBLE cannot key a view
  auto t = cache.Get(bad, version_);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition) << t.status();
}

}  // namespace
}  // namespace mlops::features::testing
