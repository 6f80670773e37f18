#include "services/ingestion/version_hash.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

Schema PaymentsSchema() {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64, true),
               MakeColumn("amount", DataType::kDouble, false),
               MakeColumn("name", DataType::kString, false),
               MakeColumn("flag", DataType::kBool, true),
               MakeColumn("ts", DataType::kTimestamp, true)};
  return s;
}

std::vector<Row> PaymentsRows() {
  return {
      {int64_t{1}, 2.5, std::string("a"), true, Timestamp{1700000000000000}},
      {Value(), -0.0, std::string(), false, Value()},
      {std::numeric_limits<int64_t>::min(), std::nan(""), std::string("\xc3\xa9"), Value(),
       Timestamp{-1}},
  };
}

std::string Hash(std::string_view dataset, std::string_view parent, IngestMode mode,
                 const Schema& schema, const std::vector<Row>& rows) {
  absl::StatusOr<VersionHasher> h = VersionHasher::Create(dataset, parent, mode, schema);
  EXPECT_TRUE(h.ok()) << h.status();
  h->AddRows(rows);
  absl::StatusOr<std::string> id = h->Finish();
  EXPECT_TRUE(id.ok()) << id.status();
  return id.value_or("");
}

// The contract: these ids were computed by an independent implementation of
// the encoding documented in version_hash.h (Python struct + hashlib). If
// this test fails, stored version ids would change: do not "fix" the vector.
TEST(VersionHashTest, MatchesKnownVector) {
  EXPECT_EQ(Hash("payments", "", IngestMode::kAppend, PaymentsSchema(), PaymentsRows()),
            "7af565fa181bd3bfbda78c223a16c9c35a8ef969d25a8143a36365004202f0d5");
  EXPECT_EQ(Hash("payments", "", IngestMode::kAppend, PaymentsSchema(), {}),
            "22a3bdda99cd122fe30f994cede01a2312fb298b51ae50424725cb81b81ef086");
}

TEST(VersionHashTest, EncodesRowsAsDocumented) {
  std::string bytes;
  AppendCanonicalRow(PaymentsRows()[0], &bytes);
  EXPECT_EQ(absl::BytesToHexString(bytes),
            "05000000010100000000000000020000000000000440030100000061040105"
            "00401e18240a0600");
}

TEST(VersionHashTest, IsStableAcrossChunkingAndCalls) {
  const std::string once = Hash("d", "", IngestMode::kAppend, PaymentsSchema(), PaymentsRows());
  absl::StatusOr<VersionHasher> h = VersionHasher::Create("d", "", IngestMode::kAppend, PaymentsSchema());
  ASSERT_TRUE(h.ok());
  for (const Row& row : PaymentsRows()) h->AddRow(row);
  EXPECT_EQ(h->row_count(), 3);
  EXPECT_EQ(*h->Finish(), once);
  EXPECT_EQ(*h->Finish(), once);
}

TEST(VersionHashTest, EncodedRowsHashLikeRows) {
  const std::string once = Hash("d", "", IngestMode::kAppend, PaymentsSchema(), PaymentsRows());
  absl::StatusOr<VersionHasher> h = VersionHasher::Create("d", "", IngestMode::kAppend, PaymentsSchema());
  ASSERT_TRUE(h.ok());
  std::string encoded;
  AppendCanonicalRow(PaymentsRows()[0], &encoded);
  h->AddEncodedRows(encoded, 1);
  h->AddRow(PaymentsRows()[1]);
  encoded.clear();
  AppendCanonicalRow(PaymentsRows()[2], &encoded);
  h->AddEncodedRows(encoded, 1);
  EXPECT_EQ(h->row_count(), 3);
  EXPECT_EQ(*h->Finish(), once);
  // Encodings larger than the hasher's buffer go straight to the digest.
  std::vector<Row> many;
  encoded.clear();
  for (int i = 0; i < 20000; ++i) {
    many.push_back(PaymentsRows()[i % 3]);
    AppendCanonicalRow(many.back(), &encoded);
  }
  absl::StatusOr<VersionHasher> big = VersionHasher::Create("d", "", IngestMode::kAppend, PaymentsSchema());
  ASSERT_TRUE(big.ok());
  big->AddRow(PaymentsRows()[1]);
  big->AddEncodedRows(encoded, static_cast<int64_t>(many.size()));
  many.insert(many.begin(), PaymentsRows()[1]);
  EXPECT_GT(encoded.size(), size_t{64 * 1024});
  EXPECT_EQ(*big->Finish(), Hash("d", "", IngestMode::kAppend, PaymentsSchema(), many));
}

TEST(VersionHashTest, CanonicalisesNegativeZeroAndNaN) {
  Schema s;
  s.columns = {MakeColumn("x", DataType::kDouble, false)};
  const double other_nan = -std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Hash("d", "", IngestMode::kAppend, s, {{-0.0}}),
            Hash("d", "", IngestMode::kAppend, s, {{0.0}}));
  EXPECT_EQ(Hash("d", "", IngestMode::kAppend, s, {{std::nan("")}}),
            Hash("d", "", IngestMode::kAppend, s, {{other_nan}}));
}

TEST(VersionHashTest, IsSensitiveToEverythingThatDefinesTheVersion) {
  const Schema schema = PaymentsSchema();
  std::vector<Row> rows = PaymentsRows();
  const std::string base = Hash("d", "", IngestMode::kAppend, schema, rows);
  std::vector<Row> swapped = rows;
  std::swap(swapped[0], swapped[1]);
  EXPECT_NE(Hash("d", "", IngestMode::kAppend, schema, swapped), base) << "row order";
  EXPECT_NE(Hash("d", std::string(64, 'a'), IngestMode::kAppend, schema, rows), base) << "parent";
  EXPECT_NE(Hash("d", std::string(64, 'a'), IngestMode::kAppend, schema, rows),
            Hash("d", std::string(64, 'b'), IngestMode::kAppend, schema, rows))
      << "parent";
  EXPECT_NE(Hash("e", "", IngestMode::kAppend, schema, rows), base) << "dataset";
  EXPECT_NE(Hash("d", "", IngestMode::kReplace, schema, rows), base) << "mode";
  Schema renamed = schema;
  renamed.columns[0].name = "key";
  EXPECT_NE(Hash("d", "", IngestMode::kAppend, renamed, rows), base) << "column name";
  std::vector<Row> fewer(rows.begin(), rows.end() - 1);
  EXPECT_NE(Hash("d", "", IngestMode::kAppend, schema, fewer), base) << "row count";
}

TEST(VersionHashTest, DistinguishesNullFromEmptyAndTypes) {
  std::string null_bytes, empty_bytes, int_bytes, ts_bytes;
  AppendCanonicalValue(Value(), &null_bytes);
  AppendCanonicalValue(std::string(), &empty_bytes);
  AppendCanonicalValue(int64_t{5}, &int_bytes);
  AppendCanonicalValue(Timestamp{5}, &ts_bytes);
  EXPECT_NE(null_bytes, empty_bytes);
  EXPECT_NE(int_bytes, ts_bytes);
  // "ab" + "c" must not collide with "a" + "bc".
  std::string left, right;
  AppendCanonicalRow({std::string("ab"), std::string("c")}, &left);
  AppendCanonicalRow({std::string("a"), std::string("bc")}, &right);
  EXPECT_NE(left, right);
}

TEST(VersionHashTest, IdIsLowercaseHexOf64Characters) {
  const std::string id = Hash("d", "", IngestMode::kAppend, PaymentsSchema(), PaymentsRows());
  ASSERT_EQ(id.size(), 64u);
  for (char c : id) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
}

}  // namespace
}  // namespace mlops::ingestion
