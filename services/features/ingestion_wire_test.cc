#include "services/features/ingestion_wire.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "services/features/event_table_cache.h"

namespace mlops::features {
namespace {

namespace cv1 = ::mlops::common::v1;

SourceSchema TestSchema() {
  SourceSchema s;
  s.columns = {{"id", DataType::kInt64, false},     {"ts", DataType::kTimestamp, false},
               {"x", DataType::kDouble, true},      {"name", DataType::kString, true},
               {"flag", DataType::kBool, true},     {"n", DataType::kInt64, true}};
  return s;
}

// Random rows fitting TestSchema, with NULLs and INT64 values in the DOUBLE column.
iv1::ReadChunk RandomChunk(std::mt19937_64& rng, int rows, int64_t first_row) {
  iv1::ReadChunk chunk;
  chunk.set_first_row_index(first_row);
  for (int i = 0; i < rows; ++i) {
    cv1::Row* row = chunk.add_rows();
    row->add_values()->set_int64_value(static_cast<int64_t>(rng()) >> (rng() % 64));
    row->add_values()->set_timestamp_micros(static_cast<int64_t>(rng() % 4'000'000'000'000'000));
    cv1::Value* x = row->add_values();
    if (rng() % 5 == 0) {
      x->set_int64_value(-static_cast<int64_t>(rng() % 1000));
    } else if (rng() % 5 != 0) {
      x->set_double_value(static_cast<double>(rng() % 100000) / 3.0);
    }
    cv1::Value* name = row->add_values();
    if (rng() % 4 != 0) name->set_string_value(std::string(rng() % 40, 'k'));
    cv1::Value* flag = row->add_values();
    if (rng() % 3 != 0) flag->set_bool_value(rng() % 2 == 0);
    cv1::Value* n = row->add_values();
    // NULLs only after some rows (the mask starts late); 0 is a value.
    if (i <= rows / 2) {
      n->set_int64_value(static_cast<int64_t>(i));
    } else if (rng() % 4 != 0) {
      n->set_int64_value(rng() % 2 == 0 ? 0 : 7);
    }
  }
  return chunk;
}

std::string AsResponse(const iv1::ReadChunk& chunk) {
  iv1::ReadDatasetVersionResponse msg;
  *msg.mutable_chunk() = chunk;
  return msg.SerializeAsString();
}

// Decodes a serialized response's chunk into `out`.
absl::Status Decode(const std::string& bytes, ColumnBatch* out, int64_t* first_row) {
  ReadMessage m;
  absl::Status s = SplitReadMessage(bytes, &m);
  if (!s.ok()) return s;
  EXPECT_EQ(m.kind, ReadMessage::Kind::kChunk);
  return AppendReadChunk(m.payload, TestSchema(), first_row, out);
}

void ExpectSameBatch(const ColumnBatch& a, const ColumnBatch& b) {
  ASSERT_EQ(a.num_rows, b.num_rows);
  ASSERT_EQ(a.columns.size(), b.columns.size());
  for (size_t c = 0; c < a.columns.size(); ++c) {
    EXPECT_EQ(a.columns[c].values.ints, b.columns[c].values.ints) << "column " << c;
    EXPECT_EQ(a.columns[c].values.doubles, b.columns[c].values.doubles) << "column " << c;
    EXPECT_EQ(a.columns[c].values.strings, b.columns[c].values.strings) << "column " << c;
    EXPECT_EQ(a.columns[c].nulls, b.columns[c].nulls) << "column " << c;
  }
}

TEST(IngestionWireTest, ChunksDecodeAsProtoRowsToBatchDoes) {
  std::mt19937_64 rng(17);
  ColumnBatch wire;
  ColumnBatch proto;
  int64_t first = 0;
  for (int k = 0; k < 4; ++k) {
    const iv1::ReadChunk chunk = RandomChunk(rng, 300 + k, k * 1000);
    ASSERT_TRUE(Decode(AsResponse(chunk), &wire, &first).ok());
    EXPECT_EQ(first, k * 1000);
    ASSERT_TRUE(ProtoRowsToBatch(chunk.rows(), TestSchema(), chunk.first_row_index(), &proto).ok());
  }
  ExpectSameBatch(wire, proto);
}

TEST(IngestionWireTest, HeaderMessagesSplitAsHeaders) {
  iv1::ReadDatasetVersionResponse msg;
  msg.mutable_header()->set_row_count(42);
  ReadMessage m;
  const std::string bytes = msg.SerializeAsString();  // m points into it
  ASSERT_TRUE(SplitReadMessage(bytes, &m).ok());
  ASSERT_EQ(m.kind, ReadMessage::Kind::kHeader);
  iv1::ReadHeader header;
  ASSERT_TRUE(header.ParseFromArray(m.payload.data(), static_cast<int>(m.payload.size())));
  EXPECT_EQ(header.row_count(), 42);
  EXPECT_EQ(SplitReadMessage(std::string("\x12\x05\x08", 3), &m).code(),
            absl::StatusCode::kInternal);
}

TEST(IngestionWireTest, ValuesDecodeAsProtobufParsesThem) {
  // A Value with two oneof members (the last wins) and an unknown field.
  // A row by hand: id = {string "a", int64 5, unknown field 9}, ts, 4 NULLs.
  std::string id_value = std::string("\x1a\x01" "a" "\x08\x05" "\x48\x01", 7);
  std::string ts_value = std::string("\x28\x07", 2);
  std::string row_bytes;
  row_bytes += '\x0a';
  row_bytes += static_cast<char>(id_value.size());
  row_bytes += id_value;
  row_bytes += '\x0a';
  row_bytes += static_cast<char>(ts_value.size());
  row_bytes += ts_value;
  for (int i = 0; i < 4; ++i) row_bytes += std::string("\x0a\x00", 2);
  std::string read_chunk = std::string("\x12", 1) + static_cast<char>(row_bytes.size()) + row_bytes;
  iv1::ReadChunk parsed;
  ASSERT_TRUE(parsed.ParseFromString(read_chunk));
  ColumnBatch wire;
  ColumnBatch proto;
  int64_t first = -1;
  ASSERT_TRUE(AppendReadChunk(read_chunk, TestSchema(), &first, &wire).ok());
  ASSERT_TRUE(ProtoRowsToBatch(parsed.rows(), TestSchema(), 0, &proto).ok());
  EXPECT_EQ(first, 0);
  ExpectSameBatch(wire, proto);
  EXPECT_EQ(wire.columns[0].values.ints, std::vector<int64_t>{5});
}

TEST(IngestionWireTest, MismatchesFailAsTheProtoPathAndKeepEarlierRows) {
  std::mt19937_64 rng(3);
  ColumnBatch wire;
  int64_t first = 0;
  ASSERT_TRUE(Decode(AsResponse(RandomChunk(rng, 10, 0)), &wire, &first).ok());
  const ColumnBatch before = wire;

  iv1::ReadChunk wrong_type = RandomChunk(rng, 10, 10);
  wrong_type.mutable_rows(4)->mutable_values(3)->set_int64_value(1);  // INT64 in a STRING column
  ColumnBatch proto;
  const absl::Status want = ProtoRowsToBatch(wrong_type.rows(), TestSchema(), 10, &proto);
  ASSERT_FALSE(want.ok());
  const absl::Status got = Decode(AsResponse(wrong_type), &wire, &first);
  EXPECT_EQ(got, want);
  ExpectSameBatch(wire, before);

  iv1::ReadChunk short_row = RandomChunk(rng, 10, 10);
  short_row.mutable_rows(7)->mutable_values()->RemoveLast();
  const absl::Status want_arity = ProtoRowsToBatch(short_row.rows(), TestSchema(), 10, &proto);
  ASSERT_FALSE(want_arity.ok());
  EXPECT_EQ(Decode(AsResponse(short_row), &wire, &first), want_arity);
  ExpectSameBatch(wire, before);
}

TEST(IngestionWireTest, MalformedChunksAreInternal) {
  std::mt19937_64 rng(9);
  std::string bytes = AsResponse(RandomChunk(rng, 3, 0));
  ReadMessage m;
  ASSERT_TRUE(SplitReadMessage(bytes, &m).ok());
  ColumnBatch out;
  int64_t first = 0;
  const std::string_view cut = m.payload.substr(0, m.payload.size() - 3);
  EXPECT_EQ(AppendReadChunk(cut, TestSchema(), &first, &out).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace mlops::features
