#include "services/features/event_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/features/testing/rows.h"

namespace mlops::features {
namespace {

using ::mlops::features::testing::BuildTable;
using ::mlops::features::testing::Row;
using ::mlops::features::testing::RowsToBatch;
using ::mlops::features::testing::Ts;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

SourceSchema Schema(DataType key_type = DataType::kInt64) {
  return SourceSchema{{
      {"id", key_type, false},
      {"ts", DataType::kTimestamp, false},
      {"x", DataType::kDouble, true},
      {"tag", DataType::kString, true},
      {"unused", DataType::kInt64, true},
  }};
}

FeatureViewDefinition View() {
  FeatureViewDefinition d;
  d.name = "v";
  d.entity_column = "id";
  d.event_time_column = "ts";
  d.source_dataset = "events";
  d.features = {{"x", "x", Aggregation::kRaw, 0},
                {"x_sum", "x", Aggregation::kSum, 10},
                {"tag", "tag", Aggregation::kRaw, 0}};
  return d;
}

// Times of an entity's events, in table order.
std::vector<int64_t> TimesOf(const EventTable& t, int32_t e) {
  return std::vector<int64_t>(t.event_times().begin() + t.EntityBegin(e),
                              t.event_times().begin() + t.EntityEnd(e));
}

std::vector<double> XOf(const EventTable& t, int32_t e) {
  const auto& x = t.ColumnOfFeature(0).doubles();
  return std::vector<double>(x.begin() + t.EntityBegin(e), x.begin() + t.EntityEnd(e));
}

TEST(EventTableTest, SortsByEntityThenTimeThenArrival) {
  const std::vector<Row> rows = {
      {int64_t{7}, Ts(30), 1.0, std::string("a"), std::monostate{}},
      {int64_t{3}, Ts(10), 2.0, std::string("b"), std::monostate{}},
      {int64_t{7}, Ts(10), 3.0, std::string("a"), std::monostate{}},
      {int64_t{7}, Ts(30), 4.0, std::string("c"), std::monostate{}},
      {int64_t{3}, Ts(5), 5.0, std::monostate{}, std::monostate{}},
      {int64_t{7}, Ts(20), 6.0, std::string("a"), std::monostate{}},
      {int64_t{7}, Ts(30), 7.0, std::string("a"), std::monostate{}},
  };
  for (size_t chunk : {1, 3, 100}) {
    auto table = BuildTable(View(), Schema(), rows, chunk);
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->num_events(), 7);
    ASSERT_EQ(table->num_entities(), 2u);
    const int32_t e7 = table->entities().Find(int64_t{7});
    const int32_t e3 = table->entities().Find(int64_t{3});
    EXPECT_EQ(e7, 0);  // one bucket (no size hint): first seen first
    EXPECT_EQ(e3, 1);
    EXPECT_THAT(TimesOf(*table, e7), ElementsAre(10, 20, 30, 30, 30));
    EXPECT_THAT(XOf(*table, e7), ElementsAre(3.0, 6.0, 1.0, 4.0, 7.0));  // ties keep arrival
    EXPECT_THAT(TimesOf(*table, e3), ElementsAre(5, 10));
    EXPECT_THAT(XOf(*table, e3), ElementsAre(5.0, 2.0));
  }
}

TEST(EventTableTest, KeepsEachReadColumnOnceWithNullsAndDictionary) {
  const std::vector<Row> rows = {
      {int64_t{1}, Ts(2), std::monostate{}, std::string("b"), int64_t{5}},
      {int64_t{1}, Ts(1), 1.5, std::string("a"), int64_t{6}},
      {int64_t{1}, Ts(3), 2.5, std::monostate{}, int64_t{7}},
  };
  auto table = BuildTable(View(), Schema(), rows);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->num_columns(), 2u);  // x (read twice) and tag; not "unused"
  EXPECT_EQ(&table->ColumnOfFeature(0), &table->ColumnOfFeature(1));
  const EventColumn& x = table->ColumnOfFeature(0);
  EXPECT_TRUE(x.has_nulls());
  EXPECT_TRUE(x.IsValid(0));
  EXPECT_FALSE(x.IsValid(1));
  EXPECT_TRUE(x.IsValid(2));
  const EventColumn& tag = table->ColumnOfFeature(2);
  EXPECT_THAT(tag.dictionary(), ElementsAre("b", "a"));
  EXPECT_EQ(tag.dictionary()[tag.codes()[0]], "a");
  EXPECT_EQ(tag.dictionary()[tag.codes()[1]], "b");
  EXPECT_FALSE(tag.IsValid(2));
}

TEST(EventTableTest, ColumnWithoutNullsHasNoBitmap) {
  const std::vector<Row> rows = {{int64_t{1}, Ts(2), 1.0, std::string("b"), std::monostate{}}};
  auto table = BuildTable(View(), Schema(), rows);
  ASSERT_NE(table, nullptr);
  EXPECT_FALSE(table->ColumnOfFeature(0).has_nulls());
}

TEST(EventTableTest, InternsStringKeys) {
  const std::vector<Row> rows = {
      {std::string("bob"), Ts(2), 1.0, std::monostate{}, std::monostate{}},
      {std::string("amy"), Ts(1), 2.0, std::monostate{}, std::monostate{}},
      {std::string("bob"), Ts(1), 3.0, std::monostate{}, std::monostate{}},
  };
  auto table = BuildTable(View(), Schema(DataType::kString), rows);
  ASSERT_NE(table, nullptr);
  const int32_t bob = table->entities().Find(std::string_view("bob"));
  ASSERT_GE(bob, 0);
  EXPECT_THAT(XOf(*table, bob), ElementsAre(3.0, 1.0));
  EXPECT_EQ(table->entities().Find(EntityKey(int64_t{1})), -1);  // wrong key type
  EXPECT_EQ(std::get<std::string>(table->entities().KeyAt(1)), "amy");
}

TEST(EventTableTest, RejectsNullKeyOrTimeWithRowNumberAndKeepsNothing) {
  auto builder = EventTableBuilder::Create(View(), Schema());
  ASSERT_TRUE(builder.ok());
  const std::vector<Row> good = {{int64_t{1}, Ts(1), 1.0, std::monostate{}, std::monostate{}}};
  ASSERT_TRUE((*builder)->Append(RowsToBatch(Schema(), good)).ok());
  const std::vector<Row> bad = {
      {int64_t{2}, Ts(1), 1.0, std::monostate{}, std::monostate{}},
      {std::monostate{}, Ts(1), 1.0, std::monostate{}, std::monostate{}},
  };
  absl::Status s = (*builder)->Append(RowsToBatch(Schema(), bad));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("row 2, column \"id\": null entity key"));
  const std::vector<Row> bad_time = {{int64_t{2}, std::monostate{}, 1.0, std::monostate{},
                                      std::monostate{}}};
  s = (*builder)->Append(RowsToBatch(Schema(), bad_time));
  EXPECT_THAT(std::string(s.message()), HasSubstr("row 1, column \"ts\": null event time"));
  EXPECT_EQ((*builder)->rows_appended(), 1);
  auto table = (*builder)->Finish();
  EXPECT_EQ(table->num_events(), 1);
  EXPECT_EQ(table->num_entities(), 1u);
}

TEST(EventTableTest, RejectsBatchesOfWrongShape) {
  auto builder = EventTableBuilder::Create(View(), Schema());
  ASSERT_TRUE(builder.ok());
  const std::vector<Row> rows = {{int64_t{1}, Ts(1), 1.0, std::monostate{}, std::monostate{}}};
  ColumnBatch batch = RowsToBatch(Schema(), rows);
  batch.columns.pop_back();
  EXPECT_EQ((*builder)->Append(batch).code(), absl::StatusCode::kInvalidArgument);

  batch = RowsToBatch(Schema(), rows);
  batch.columns[2] = ColumnVector(DataType::kInt64);  // x must be DOUBLE
  batch.columns[2].values.ints = {1};
  absl::Status s = (*builder)->Append(batch);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("column \"x\""));

  batch = RowsToBatch(Schema(), rows);
  batch.columns[2].values.doubles.push_back(2.0);  // two values for one row
  EXPECT_EQ((*builder)->Append(batch).code(), absl::StatusCode::kInvalidArgument);

  batch = RowsToBatch(Schema(), rows);
  batch.columns[4] = ColumnVector(DataType::kInt64);  // an unread column may be empty
  EXPECT_TRUE((*builder)->Append(batch).ok());
}

TEST(EventTableTest, BuilderIsSpentAfterFinish) {
  auto builder = EventTableBuilder::Create(View(), Schema());
  ASSERT_TRUE(builder.ok());
  EXPECT_NE((*builder)->Finish(), nullptr);  // an empty table is a table
  EXPECT_EQ((*builder)->Finish(), nullptr);
  const std::vector<Row> rows = {{int64_t{1}, Ts(1), 1.0, std::monostate{}, std::monostate{}}};
  EXPECT_EQ((*builder)->Append(RowsToBatch(Schema(), rows)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(EventTableTest, CreateRejectsInvalidDefinition) {
  FeatureViewDefinition d = View();
  d.features[0].source_column = "nope";
  EXPECT_EQ(EventTableBuilder::Create(d, Schema()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(EventTableTest, ParallelFinishEqualsSerialFinish) {
  std::vector<Row> rows;
  for (int64_t i = 0; i < 20000; ++i) {
    rows.push_back({(i * 7919) % 1000, Ts((i * 104729) % 5000), double(i),
                    i % 5 == 0 ? Value(std::monostate{}) : Value(std::to_string(i % 13)),
                    std::monostate{}});
  }
  ThreadPool pool(2);
  auto serial = BuildTable(View(), Schema(), rows, 4096);
  auto parallel = BuildTable(View(), Schema(), rows, 999, &pool);
  ASSERT_NE(serial, nullptr);
  ASSERT_NE(parallel, nullptr);
  EXPECT_EQ(serial->event_times(), parallel->event_times());
  EXPECT_EQ(serial->ColumnOfFeature(0).doubles(), parallel->ColumnOfFeature(0).doubles());
  EXPECT_EQ(serial->ColumnOfFeature(2).codes(), parallel->ColumnOfFeature(2).codes());
  for (int64_t i = 0; i < serial->num_events(); ++i) {
    ASSERT_EQ(serial->ColumnOfFeature(2).IsValid(i), parallel->ColumnOfFeature(2).IsValid(i));
  }
  // Sorted: within each entity, by time then by arrival (x = arrival index).
  for (size_t e = 0; e < serial->num_entities(); ++e) {
    for (int64_t i = serial->EntityBegin(e) + 1; i < serial->EntityEnd(e); ++i) {
      const auto& t = serial->event_times();
      const auto& x = serial->ColumnOfFeature(0).doubles();
      ASSERT_TRUE(t[i - 1] < t[i] || (t[i - 1] == t[i] && x[i - 1] < x[i]));
    }
  }
  EXPECT_GT(serial->MemoryBytes(), 20000u * (8 + 8 + 4));
}

TEST(EventTableTest, BucketsFromSizeHintKeepEveryEntitysEvents) {
  std::vector<Row> rows;
  for (int64_t i = 0; i < 30000; ++i) {
    rows.push_back({(i * 7919) % 3001, Ts((i * 104729) % 5000), double(i),
                    i % 7 == 0 ? Value(std::monostate{}) : Value(std::to_string(i % 13)),
                    std::monostate{}});
  }
  ThreadPool pool(2);
  auto one_bucket = BuildTable(View(), Schema(), rows, 5000);
  auto bucketed = BuildTable(View(), Schema(), rows, 777, &pool, /*expected_rows=*/1 << 20);
  ASSERT_NE(one_bucket, nullptr);
  ASSERT_NE(bucketed, nullptr);
  ASSERT_EQ(one_bucket->num_entities(), bucketed->num_entities());
  EXPECT_EQ(bucketed->EntityBegin(0), 0);
  EXPECT_EQ(bucketed->EntityEnd(bucketed->num_entities() - 1), 30000);
  for (size_t e = 0; e < one_bucket->num_entities(); ++e) {
    const EntityKey key = one_bucket->entities().KeyAt(e);
    const int32_t other = bucketed->entities().Find(key);
    ASSERT_GE(other, 0);
    ASSERT_EQ(TimesOf(*one_bucket, e), TimesOf(*bucketed, other));
    ASSERT_EQ(XOf(*one_bucket, e), XOf(*bucketed, other));
    for (int64_t i = 0; i < one_bucket->EntityEnd(e) - one_bucket->EntityBegin(e); ++i) {
      const EventColumn& a = one_bucket->ColumnOfFeature(2);
      const EventColumn& b = bucketed->ColumnOfFeature(2);
      const int64_t ia = one_bucket->EntityBegin(e) + i;
      const int64_t ib = bucketed->EntityBegin(other) + i;
      ASSERT_EQ(a.IsValid(ia), b.IsValid(ib));
      if (a.IsValid(ia)) {
        ASSERT_EQ(a.dictionary()[a.codes()[ia]], b.dictionary()[b.codes()[ib]]);
      }
    }
  }
}

TEST(EventTableTest, RejectsNullInColumnDeclaredNotNullable) {
  SourceSchema schema = Schema();
  schema.columns[2].nullable = false;
  auto builder = EventTableBuilder::Create(View(), schema);
  ASSERT_TRUE(builder.ok());
  const std::vector<Row> rows = {{int64_t{1}, Ts(1), 1.0, std::monostate{}, std::monostate{}},
                                 {int64_t{1}, Ts(2), std::monostate{}, std::monostate{},
                                  std::monostate{}}};
  absl::Status s = (*builder)->Append(RowsToBatch(schema, rows));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("row 1, column \"x\": null in a column"));
}

}  // namespace
}  // namespace mlops::features
