// Unit tests of the pull sources' pure parts: definition checks, DSN
// redaction, the SQL a pull runs, and CSV folder files (listing, choosing the
// next new file, typed parsing in chunks).
#include <sys/stat.h>
#include <sys/time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/ingestion/csv_folder_reader.h"
#include "services/ingestion/source_definition.h"
#include "services/ingestion/sql_source_reader.h"

namespace mlops::ingestion {
namespace {

using ::testing::HasSubstr;

Schema TxSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64), MakeColumn("amount", DataType::kDouble),
               MakeColumn("label", DataType::kString, true),
               MakeColumn("ts", DataType::kTimestamp)};
  return s;
}

v1::Source PgSource() {
  v1::Source s;
  s.set_name("tx_pull");
  s.set_dataset("tx");
  s.mutable_postgres_query()->set_dsn("postgresql://u:secret@127.0.0.1:5432/db");
  s.mutable_postgres_query()->set_query("SELECT * FROM src.tx");
  s.mutable_postgres_query()->set_watermark_column("id");
  return s;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(SourceDefinitionTest, AcceptsAValidPostgresSource) {
  MLOPS_EXPECT_OK(ValidateSourceDefinition(PgSource(), TxSchema()));
}

TEST(SourceDefinitionTest, RejectsBadPostgresFieldsNamingTheField) {
  v1::Source s = PgSource();
  s.mutable_postgres_query()->set_query("   ");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.postgres_query.query: must not be empty"));
  s = PgSource();
  s.mutable_postgres_query()->set_query("SELECT 1;");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("semicolon"));
  s = PgSource();
  s.mutable_postgres_query()->set_query("DELETE FROM x");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("SELECT"));
  s = PgSource();
  s.mutable_postgres_query()->set_watermark_column("amount");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.postgres_query.watermark_column: \"amount\": must be an INT64 or "
                        "TIMESTAMP column"));
  s = PgSource();
  s.mutable_postgres_query()->set_watermark_column("nope");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("not a column"));
  s = PgSource();
  s.mutable_postgres_query()->mutable_initial_watermark()->set_timestamp_micros(5);
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.postgres_query.initial_watermark"));
  s = PgSource();
  s.mutable_postgres_query()->clear_dsn();
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.postgres_query.dsn"));
  s = PgSource();
  s.set_interval_micros(500'000);
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.interval_micros"));
  s = PgSource();
  s.clear_postgres_query();
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("source.kind"));
}

TEST(SourceDefinitionTest, RejectsBadCsvFields) {
  v1::Source s;
  s.mutable_csv_folder()->set_path("relative/dir");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())),
              HasSubstr("source.csv_folder.path: must be an absolute path"));
  s.mutable_csv_folder()->set_path("/tmp");
  s.mutable_csv_folder()->set_delimiter(";;");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("csv_folder.delimiter"));
  s.mutable_csv_folder()->set_delimiter("");
  s.mutable_csv_folder()->set_glob("a/*.csv");
  EXPECT_THAT(Message(ValidateSourceDefinition(s, TxSchema())), HasSubstr("csv_folder.glob"));
}

TEST(RedactDsnTest, HidesPasswordsInUrisAndKeyValueStrings) {
  EXPECT_EQ(RedactDsn("postgresql://u:secret@host:5432/db"), "postgresql://u:***@host:5432/db");
  EXPECT_EQ(RedactDsn("postgresql://u@host/db"), "postgresql://u@host/db");
  EXPECT_EQ(RedactDsn("host=h user=u password=secret dbname=d"),
            "host=h user=u password=*** dbname=d");
  EXPECT_EQ(RedactDsn("password = 'se cret' host=h"), "password = *** host=h");
  EXPECT_EQ(RedactDsn("postgresql://h/db?user=u&password=secret&sslmode=disable"),
            "postgresql://h/db?user=u&password=***&sslmode=disable");
}

TEST(SqlSourceTest, ConvertsOnlyExactTypes) {
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string e, SqlColumnExpression("id", DataType::kInt64, 23));
  EXPECT_EQ(e, "src.\"id\"::int8");
  MLOPS_ASSERT_OK_AND_ASSIGN(e, SqlColumnExpression("ts", DataType::kTimestamp, 1184));
  EXPECT_EQ(e, "(extract(epoch from src.\"ts\") * 1000000)::int8");
  EXPECT_THAT(Message(SqlColumnExpression("amount", DataType::kDouble, 1700).status()),
              HasSubstr("column \"amount\": the query's type (oid 1700) does not convert exactly "
                        "to DOUBLE"));
  EXPECT_FALSE(SqlColumnExpression("id", DataType::kInt64, 25).ok());  // text to INT64
}

TEST(SqlSourceTest, PullQueryBoundsByWatermarkAndTakesWholeRuns) {
  const std::string q = BuildPullQuery("SELECT * FROM t", "src.\"id\"::int8", "id", false, false,
                                       int64_t{41}, 100);
  EXPECT_THAT(q, HasSubstr("src.\"id\" > 41::int8"));
  EXPECT_THAT(q, HasSubstr("src.\"id\" <= (SELECT max(lim.w)"));
  EXPECT_THAT(q, HasSubstr("LIMIT 100"));
  EXPECT_THAT(q, HasSubstr("ORDER BY src.\"id\""));
  EXPECT_THAT(q, ::testing::Not(HasSubstr("IS NULL")));
  const std::string first = BuildPullQuery("SELECT * FROM t", "x", "ts", true, false,
                                           std::nullopt, 10);
  EXPECT_THAT(first, HasSubstr("WHERE TRUE"));
  EXPECT_THAT(first, HasSubstr("OR src.\"ts\" IS NULL"));
  const std::string tz = BuildPullQuery("SELECT * FROM t", "x", "ts", true, false, int64_t{7}, 10);
  EXPECT_THAT(tz, HasSubstr("src.\"ts\" > to_timestamp(0) + 7 * interval '1 microsecond'"));
}

class CsvFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/csv_folder_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  void Write(const std::string& name, const std::string& text, int64_t mtime_seconds = 1000) {
    std::ofstream(dir_ + "/" + name) << text;
    struct timeval tv[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
    ASSERT_EQ(::utimes((dir_ + "/" + name).c_str(), tv), 0);
  }
  std::string dir_;
};

TEST_F(CsvFolderTest, ListsMatchingOldEnoughFilesByName) {
  Write("b.csv", "x");
  Write("a.csv", "x");
  Write("notes.txt", "x");
  Write("young.csv", "x", 5000);
  MLOPS_ASSERT_OK_AND_ASSIGN(auto files, ListCsvFiles(dir_, "*.csv", 2000 * 1'000'000LL, 100));
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "a.csv");
  EXPECT_EQ(files[1].name, "b.csv");
  EXPECT_EQ(files[0].mtime_micros, 1000 * 1'000'000LL);
  EXPECT_EQ(ListCsvFiles(dir_ + "/missing", "*.csv", 0, 100).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CsvFolderTest, NextFileSkipsTakenOnesByStatOrHash) {
  Write("a.csv", "one");
  Write("b.csv", "two");
  Write("c.csv", "three");
  MLOPS_ASSERT_OK_AND_ASSIGN(auto files, ListCsvFiles(dir_, "*.csv", 1LL << 60, 100));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string sha_b, Sha256OfFile(dir_ + "/b.csv"));
  // a.csv taken (same stat), b.csv taken with another mtime but the same bytes.
  std::vector<IngestedFile> taken = {{"a.csv", "whatever", 3, 1000 * 1'000'000LL},
                                     {"b.csv", sha_b, 3, 1}};
  MLOPS_ASSERT_OK_AND_ASSIGN(auto next, ChooseNextCsvFile(dir_, files, taken));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->info.name, "c.csv");
  EXPECT_FALSE(next->more);
  MLOPS_ASSERT_OK_AND_ASSIGN(next, ChooseNextCsvFile(dir_, files, {}));
  EXPECT_EQ(next->info.name, "a.csv");
  EXPECT_TRUE(next->more);
}

TEST_F(CsvFolderTest, ReadsTypedRowsInChunksAndHashesTheBytes) {
  std::string text = "ts,label,amount,id\n";
  for (int i = 0; i < 10; ++i) {
    text += "1970-01-01T00:00:0" + std::to_string(i) + "Z,l" + std::to_string(i) + ",1.5," +
            std::to_string(i) + "\n";
  }
  Write("f.csv", text);
  CsvOptions options;
  options.header_any_order = true;
  std::vector<size_t> chunk_sizes;
  std::vector<Row> all;
  MLOPS_ASSERT_OK_AND_ASSIGN(
      std::string sha, ReadCsvFile(dir_, "f.csv", TxSchema(), options, 4, [&](std::vector<Row>& rows) {
        chunk_sizes.push_back(rows.size());
        all.insert(all.end(), rows.begin(), rows.end());
        return absl::OkStatus();
      }));
  MLOPS_ASSERT_OK_AND_ASSIGN(std::string expected, Sha256OfFile(dir_ + "/f.csv"));
  EXPECT_EQ(sha, expected);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[3], (Row{int64_t{3}, 1.5, std::string("l3"), Timestamp{3'000'000}}));
  EXPECT_EQ(chunk_sizes.size(), 1u);  // a small file arrives in one slice
}

TEST_F(CsvFolderTest, ParseErrorsNameTheFileLineAndColumn) {
  Write("bad.csv", "id,amount,label,ts\n1,2.5,a,1970-01-01T00:00:00Z\n2,oops,b,1970-01-01T00:00:00Z\n");
  absl::StatusOr<std::string> r =
      ReadCsvFile(dir_, "bad.csv", TxSchema(), CsvOptions{}, 100,
                  [](std::vector<Row>&) { return absl::OkStatus(); });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(r.status()), "bad.csv 3:3: column \"amount\": \"oops\" is not a double");
}

}  // namespace
}  // namespace mlops::ingestion
