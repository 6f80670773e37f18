#include "services/ingestion/schema_validation.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

Schema Payments() {
  Schema s;
  s.columns = {MakeColumn("card_id", DataType::kString, false, ColumnRole::kEntityKey),
               MakeColumn("ts", DataType::kTimestamp, false, ColumnRole::kEventTimestamp),
               MakeColumn("amount", DataType::kDouble, false, ColumnRole::kFeature), MakeColumn("note", DataType::kString, true),
               MakeColumn("fraud", DataType::kBool, false, ColumnRole::kLabel)};
  return s;
}

std::string SchemaError(const Schema& s) {
  const absl::Status st = ValidateSchema(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  return std::string(st.message());
}

TEST(SchemaValidationTest, AcceptsAValidSchema) { EXPECT_TRUE(ValidateSchema(Payments()).ok()); }

TEST(SchemaValidationTest, RejectsBrokenSchemas) {
  EXPECT_EQ(SchemaError(Schema{}), "schema has no columns");
  Schema s = Payments();
  s.columns[2].name = "Amount";
  EXPECT_EQ(SchemaError(s),
            "column 2 name \"Amount\": must start with a lowercase letter a-z, got 'A'");
  s = Payments();
  s.columns[3].name = "amount";
  EXPECT_EQ(SchemaError(s), "duplicate column name \"amount\" (columns 2 and 3)");
  s = Payments();
  s.columns[2].type = DataType::kUnspecified;
  EXPECT_EQ(SchemaError(s),
            "column \"amount\": type is unspecified; expected int64, double, string, bool or "
            "timestamp");
  s = Payments();
  s.columns.push_back(MakeColumn("other_key", DataType::kInt64, false, ColumnRole::kEntityKey));
  EXPECT_EQ(SchemaError(s), "column \"other_key\": a schema has at most one entity_key column");
  s = Payments();
  s.columns[0].type = DataType::kDouble;
  EXPECT_EQ(SchemaError(s), "column \"card_id\": entity_key must be int64 or string, not double");
  s = Payments();
  s.columns[0].nullable = true;
  EXPECT_EQ(SchemaError(s), "column \"card_id\": entity_key must not be nullable");
  s = Payments();
  s.columns[1].type = DataType::kInt64;
  EXPECT_EQ(SchemaError(s), "column \"ts\": event_timestamp must be timestamp, not int64");
  s = Payments();
  s.columns.push_back(MakeColumn("ts2", DataType::kTimestamp, false, ColumnRole::kEventTimestamp));
  EXPECT_EQ(SchemaError(s), "column \"ts2\": a schema has at most one event_timestamp column");
  s = Payments();
  s.columns[3].allow_non_finite = true;
  EXPECT_EQ(SchemaError(s),
            "column \"note\": allow_non_finite applies to double columns only, not string");
  s = Payments();
  s.columns[2].role = static_cast<ColumnRole>(42);
  EXPECT_EQ(SchemaError(s), "column \"amount\": unknown role 42");
}

TEST(SchemaValidationTest, AcceptsSchemaWithoutEntityKey) {
  Schema s;
  s.columns = {MakeColumn("x", DataType::kDouble)};
  EXPECT_TRUE(ValidateSchema(s).ok());
}

std::string RowError(const Row& row, int64_t index = 17) {
  const absl::Status st = ValidateRow(Payments(), row, index);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  return std::string(st.message());
}

Row GoodRow() {
  return {std::string("c1"), Timestamp{1}, 9.5, Value(), false};
}

TEST(SchemaValidationTest, AcceptsMatchingRows) {
  EXPECT_TRUE(ValidateRow(Payments(), GoodRow(), 0).ok());
}

TEST(SchemaValidationTest, RowErrorsNameRowAndColumn) {
  EXPECT_EQ(RowError({std::string("c1")}), "row 17: has 1 values, schema has 5 columns");
  Row r = GoodRow();
  r[2] = std::string("9.5");
  EXPECT_EQ(RowError(r), "row 17, column \"amount\": expected double, got string");
  r = GoodRow();
  r[2] = int64_t{9};
  EXPECT_EQ(RowError(r), "row 17, column \"amount\": expected double, got int64");
  r = GoodRow();
  r[1] = int64_t{1};
  EXPECT_EQ(RowError(r), "row 17, column \"ts\": expected timestamp, got int64");
  r = GoodRow();
  r[0] = Value();
  EXPECT_EQ(RowError(r), "row 17, column \"card_id\": NULL not allowed (column is not nullable)");
  r = GoodRow();
  r[2] = std::nan("");
  EXPECT_EQ(RowError(r), "row 17, column \"amount\": NaN not allowed (allow_non_finite is off)");
  r[2] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(RowError(r), "row 17, column \"amount\": +inf not allowed (allow_non_finite is off)");
  r[2] = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(RowError(r, 3), "row 3, column \"amount\": -inf not allowed (allow_non_finite is off)");
  r = GoodRow();
  r[3] = std::string("ok\xff");
  EXPECT_EQ(RowError(r), "row 17, column \"note\": invalid UTF-8 at byte 2");
}

TEST(SchemaValidationTest, AllowsNonFiniteWhenTheColumnSaysSo) {
  Schema s = Payments();
  s.columns[2].allow_non_finite = true;
  Row r = GoodRow();
  r[2] = std::nan("");
  EXPECT_TRUE(ValidateRow(s, r, 0).ok());
  r[2] = -std::numeric_limits<double>::infinity();
  EXPECT_TRUE(ValidateRow(s, r, 0).ok());
}

}  // namespace
}  // namespace mlops::ingestion
