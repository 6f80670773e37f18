#include "services/ingestion/csv.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

using ::testing::ElementsAre;

Schema TestSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64), MakeColumn("amount", DataType::kDouble, true),
               MakeColumn("name", DataType::kString, true), MakeColumn("ok", DataType::kBool, true),
               MakeColumn("ts", DataType::kTimestamp, true)};
  return s;
}

constexpr char kHeader[] = "id,amount,name,ok,ts\n";

std::vector<Row> Parse(const std::string& text, CsvOptions options = {}, Schema schema = TestSchema()) {
  absl::StatusOr<std::vector<Row>> rows = ParseCsv(schema, text, options);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<Row>{};
}

std::string Error(const std::string& text, CsvOptions options = {}, Schema schema = TestSchema()) {
  absl::StatusOr<std::vector<Row>> rows = ParseCsv(schema, text, options);
  EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(rows.status().message());
}

TEST(CsvTest, ParsesTypedValues) {
  const std::vector<Row> rows =
      Parse(std::string(kHeader) + "1,2.5,alice,true,2023-11-14T22:13:20Z\n-7,+1e3,bob,0,1970-01-01T00:00:00.5+00:00\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (Row{int64_t{1}, 2.5, std::string("alice"), true, Timestamp{1700000000000000}}));
  EXPECT_EQ(rows[1], (Row{int64_t{-7}, 1000.0, std::string("bob"), false, Timestamp{500000}}));
}

TEST(CsvTest, HandlesRfc4180Quoting) {
  const std::vector<Row> rows = Parse(std::string(kHeader) +
                                      "1,,\"a,b\",,\r\n"
                                      "2,,\"say \"\"hi\"\"\",,\r\n"
                                      "3,,\"two\nlines\",,\r\n"
                                      "4,,\"\",,\r\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][2], Value(std::string("a,b")));
  EXPECT_EQ(rows[1][2], Value(std::string("say \"hi\"")));
  EXPECT_EQ(rows[2][2], Value(std::string("two\nlines")));
  EXPECT_EQ(rows[3][2], Value(std::string()));  // "" is the empty string
}

TEST(CsvTest, EmptyFieldIsNull) {
  const std::vector<Row> rows = Parse(std::string(kHeader) + "1,,,,\n2,\"\",x,\"\",\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (Row{int64_t{1}, Value(), Value(), Value(), Value()}));
  EXPECT_EQ(rows[1], (Row{int64_t{2}, Value(), std::string("x"), Value(), Value()}));
}

TEST(CsvTest, AcceptsBomMissingFinalNewlineAndOtherDelimiters) {
  EXPECT_EQ(Parse("\xEF\xBB\xBF" + std::string(kHeader) + "1,,,,").size(), 1u);
  CsvOptions tabs;
  tabs.delimiter = '\t';
  EXPECT_EQ(Parse("id\tamount\tname\tok\tts\n5\t1\ta,b\t1\t\n", tabs)[0][2],
            Value(std::string("a,b")));
  CsvOptions no_header;
  no_header.has_header = false;
  EXPECT_EQ(Parse("9,,,,\n", no_header)[0][0], Value(int64_t{9}));
  EXPECT_TRUE(Parse("", no_header).empty());
}

TEST(CsvTest, NonFiniteDoublesFollowTheColumn) {
  Schema s = TestSchema();
  s.columns[1].allow_non_finite = true;
  const std::vector<Row> rows =
      Parse(std::string(kHeader) + "1,nan,,,\n2,-inf,,,\n3,Infinity,,,\n", {}, s);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(std::isnan(std::get<double>(rows[0][1])));
  EXPECT_EQ(std::get<double>(rows[1][1]), -INFINITY);
  EXPECT_EQ(std::get<double>(rows[2][1]), INFINITY);
  EXPECT_EQ(Error(std::string(kHeader) + "1,NaN,,,\n"),
            "2:3: column \"amount\": NaN not allowed (allow_non_finite is off)");
  EXPECT_EQ(Error(std::string(kHeader) + "1,-inf,,,\n"),
            "2:3: column \"amount\": -inf not allowed (allow_non_finite is off)");
}

TEST(CsvTest, IntegerTimestampsOnlyWhenAskedFor) {
  EXPECT_EQ(Error(std::string(kHeader) + "1,,,,1700000000\n"),
            "2:6: column \"ts\": \"1700000000\" is not a timestamp: expected RFC 3339 like "
            "2024-01-31T12:00:00Z");
  CsvOptions micros;
  micros.integer_timestamps_are_micros = true;
  EXPECT_EQ(Parse(std::string(kHeader) + "1,,,,1700000000\n", micros)[0][4],
            Value(Timestamp{1700000000}));
}

TEST(CsvTest, ValueErrorsNameLineColumnAndWhat) {
  const std::string h = kHeader;
  EXPECT_EQ(Error(h + "12x,,,,\n"), "2:1: column \"id\": \"12x\" is not an int64");
  EXPECT_EQ(Error(h + "1,,,,\n99999999999999999999,,,,\n"),
            "3:1: column \"id\": \"99999999999999999999\" is out of int64 range");
  EXPECT_EQ(Error(h + "1, 2,,,\n"), "2:3: column \"amount\": \" 2\" is not a double");
  EXPECT_EQ(Error(h + "1,0x10,,,\n"), "2:3: column \"amount\": \"0x10\" is not a double");
  EXPECT_EQ(Error(h + "1,1e999,,,\n"), "2:3: column \"amount\": \"1e999\" is out of double range");
  EXPECT_EQ(Error(h + "1,,,yes,\n"),
            "2:5: column \"ok\": \"yes\" is not a bool (expected true, false, 1 or 0)");
  EXPECT_EQ(Error(h + "1,,,,2024-13-01T00:00:00Z\n"),
            "2:6: column \"ts\": \"2024-13-01T00:00:00Z\" is not a timestamp: month 13 out of range");
  EXPECT_EQ(Error(h + "1,,,,2024-01-01T00:00:00\n"),
            "2:6: column \"ts\": \"2024-01-01T00:00:00\" is not a timestamp: missing time zone (Z or "
            "+hh:mm)");
  EXPECT_EQ(Error(h + ",1,,,\n"), "2:1: column \"id\": NULL not allowed (column is not nullable)");
  EXPECT_EQ(Error(h + "1,,caf\xC3,,\n"), "2:4: column \"name\": invalid UTF-8 at byte 3");
}

TEST(CsvTest, StructureErrorsNameLineAndColumn) {
  const std::string h = kHeader;
  EXPECT_EQ(Error(h + "1,,a\"b,,\n"), "2:5: quote inside an unquoted field (quote the whole field)");
  EXPECT_EQ(Error(h + "1,,\"ab\"c,,\n"), "2:8: unexpected character 'c' after a closing quote");
  EXPECT_EQ(Error(h + "1,,ab\rc,,\n"), "2:6: carriage return not followed by a line feed");
  EXPECT_EQ(Error(h + "1,,\"open,,\n2,,,,\n"), "2:4: unterminated quoted field at end of input");
  EXPECT_EQ(Error(h + "1,2,3\n"), "2:1: record has 3 fields, schema has 5 columns");
  EXPECT_EQ(Error(h + "1,,,,,\n"), "2:7: record has more than 5 fields (one per schema column)");
  EXPECT_EQ(Error(h + "1,,,,\n\n"), "3:1: empty line; schema has 5 columns");
  EXPECT_EQ(Error(""), "1:1: empty input; expected a header");
  CsvOptions small;
  small.max_record_bytes = 20;  // the header's 16 bytes fit
  EXPECT_EQ(Error(h + "1,,abcdefghijklmnopqrstuvwxyz,,\n", small),
            "2:1: record longer than 20 bytes");
}

TEST(CsvTest, LineNumbersCountPhysicalLinesInsideQuotes) {
  EXPECT_EQ(Error(std::string(kHeader) + "1,,\"a\nb\nc\",,\nx,,,,\n"),
            "5:1: column \"id\": \"x\" is not an int64");
  EXPECT_EQ(Error(std::string(kHeader) + "1,,\"a\nb\",,oops\n"),
            "3:5: column \"ts\": \"oops\" is not a timestamp: expected RFC 3339 like "
            "2024-01-31T12:00:00Z");
}

TEST(CsvTest, HeaderMismatchSaysWhatIsWrong) {
  EXPECT_EQ(Error("id,amout,name,ok,ts\n"),
            "1:4: header column 2 is \"amout\", expected \"amount\"; missing: \"amount\"; "
            "unexpected: \"amout\"");
  EXPECT_EQ(Error("amount,id,name,ok,ts\n"),
            "1:1: header column 1 is \"amount\", expected \"id\"; same columns in another order, "
            "expected id,amount,name,ok,ts");
  EXPECT_EQ(Error("id,amount,name,ok\n"),
            "1:16: header has 4 columns, schema has 5; missing: \"ts\"");
  EXPECT_EQ(Error("id,amount,name,ok,ts,extra\n"),
            "1:22: header has 6 columns, schema has 5; unexpected: \"extra\"");
  EXPECT_EQ(Error("id,amount,name,ok,\"t\xff\"\n"), "1:19: header is not valid UTF-8");
}

TEST(CsvTest, StreamingGivesTheSameRowsForAnySplit) {
  const std::string text = "\xEF\xBB\xBF" + std::string(kHeader) +
                           "1,2.5,\"a,\"\"b\"\"\r\nc\",true,2023-11-14T22:13:20Z\r\n"
                           "2,,,,\r\n"
                           "3,-1,z,0,";
  const std::vector<Row> whole = Parse(text);
  ASSERT_EQ(whole.size(), 3u);
  for (size_t split = 0; split <= text.size(); ++split) {
    CsvReader reader(TestSchema());
    std::vector<Row> rows;
    ASSERT_TRUE(reader.Feed(text.substr(0, split), &rows).ok()) << split;
    ASSERT_TRUE(reader.Feed(text.substr(split), &rows).ok()) << split;
    ASSERT_TRUE(reader.Finish(&rows).ok()) << split;
    EXPECT_EQ(rows, whole) << split;
    EXPECT_EQ(reader.rows_read(), 3);
  }
  CsvReader bytewise(TestSchema());
  std::vector<Row> rows;
  for (char c : text) ASSERT_TRUE(bytewise.Feed(std::string_view(&c, 1), &rows).ok());
  ASSERT_TRUE(bytewise.Finish(&rows).ok());
  EXPECT_EQ(rows, whole);
}

TEST(CsvTest, StopsAtTheFirstErrorAndRepeatsIt) {
  CsvReader reader(TestSchema());
  std::vector<Row> rows;
  const absl::Status first = reader.Feed(std::string(kHeader) + "x,,,,\n", &rows);
  EXPECT_EQ(first.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.Feed("1,,,,\n", &rows), first);
  EXPECT_EQ(reader.Finish(&rows), first);
  EXPECT_TRUE(rows.empty());
}

TEST(CsvTest, OneColumnSchemaReadsBlankLinesAsNull) {
  Schema s;
  s.columns = {MakeColumn("x", DataType::kInt64, true)};
  EXPECT_THAT(Parse("x\n1\n\n3\n", {}, s),
              ElementsAre(Row{int64_t{1}}, Row{Value()}, Row{int64_t{3}}));
}

TEST(CsvTest, HeaderAnyOrderMapsFieldsByName) {
  CsvOptions options;
  options.header_any_order = true;
  const std::vector<Row> rows = Parse("ts,ok,name,id,amount\n1970-01-01T00:00:01Z,true,x,5,1.5\n",
                                      options);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (Row{int64_t{5}, 1.5, std::string("x"), true, Timestamp{1'000'000}}));
}

TEST(CsvTest, HeaderAnyOrderRejectsMissingExtraAndDuplicateColumns) {
  CsvOptions options;
  options.header_any_order = true;
  EXPECT_THAT(Error("ts,ok,name,id\n", options), ::testing::HasSubstr("missing: \"amount\""));
  EXPECT_THAT(Error("ts,ok,name,id,amount,extra\n", options),
              ::testing::HasSubstr("unexpected: \"extra\""));
  EXPECT_THAT(Error("ts,ok,name,id,id\n", options), ::testing::HasSubstr("missing: \"amount\""));
}

TEST(CsvTest, HeaderAnyOrderErrorsNameLineAndColumnOfTheMappedField) {
  CsvOptions options;
  options.header_any_order = true;
  EXPECT_EQ(Error("amount,id,name,ok,ts\n1.5,7,a,true,\n2.5,x,b,true,\n", options),
            "3:5: column \"id\": \"x\" is not an int64");
}

TEST(CsvTest, NullTextIsNullOnlyInNullableColumnsAndOnlyUnquoted) {
  CsvOptions options;
  options.null_text = "NA";
  const std::vector<Row> rows = Parse(std::string(kHeader) + "1,NA,NA,NA,NA\n2,1,\"NA\",true,\n",
                                      options);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (Row{int64_t{1}, Value(), Value(), Value(), Value()}));
  EXPECT_EQ(rows[1][2], Value(std::string("NA")));
  // In a non-nullable INT64 column "NA" is parsed as an int64 and fails.
  EXPECT_EQ(Error(std::string(kHeader) + "NA,1,a,true,\n", options),
            "2:1: column \"id\": \"NA\" is not an int64");
}

}  // namespace
}  // namespace mlops::ingestion
