// historical_wire.h against protobuf: the chunk bytes written directly must
// equal protobuf's serialization of the same FeatureRowChunk built as
// messages (the path GetHistoricalFeatures used before), for every value
// type and status, and a response carrying them as its encoded `chunk`
// field must serialize to the same bytes as one with the chunk set.

#include "services/features/historical_wire.h"

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "google/protobuf/unknown_field_set.h"
#include "mlops/features/v1/features.pb.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// A random value of one kind (or NULL) for an input row.
cv1::Value RandomInputValue(std::mt19937_64& rng) {
  cv1::Value v;
  switch (rng() % 6) {
    case 0: v.set_int64_value(static_cast<int64_t>(rng()) >> (rng() % 64)); break;
    case 1: v.set_double_value(static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7);
      break;
    case 2: v.set_string_value(std::string(rng() % 300, static_cast<char>('a' + rng() % 26)));
      break;
    case 3: v.set_bool_value(rng() % 2 == 0); break;
    case 4: v.set_timestamp_micros(static_cast<int64_t>(rng() % 4000000000000000)); break;
    default: break;  // NULL
  }
  return v;
}

// A column of `n` random values and statuses of `type`.
FeatureColumn RandomColumn(DataType type, size_t n, std::mt19937_64& rng) {
  FeatureColumn c(type);
  c.Resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.status[i] = static_cast<ValueStatus>(1 + (rng() % 4 == 0 ? 1 + rng() % 3 : 0));
    switch (type) {
      case DataType::kDouble:
        c.values.doubles[i] = rng() % 5 == 0 ? 0.0 : -1.5 * static_cast<double>(rng() % 1000);
        break;
      case DataType::kString: c.values.strings[i] = std::string(rng() % 200, 'x'); break;
      case DataType::kBool: c.values.ints[i] = static_cast<int64_t>(rng() % 2); break;
      default:
        c.values.ints[i] = rng() % 5 == 0 ? 0 : static_cast<int64_t>(rng()) >> (rng() % 64);
        break;
    }
  }
  return c;
}

struct Case {
  std::vector<cv1::Row> input;
  wire::EncodedRows encoded;
  std::vector<FeatureColumn> columns;
};

Case MakeCase(size_t rows, size_t input_columns, std::mt19937_64& rng) {
  Case c;
  for (size_t i = 0; i < rows; ++i) {
    cv1::Row row;
    for (size_t k = 0; k < input_columns; ++k) *row.add_values() = RandomInputValue(rng);
    c.encoded.bytes += row.SerializeAsString();
    c.encoded.offsets.push_back(c.encoded.bytes.size());
    c.input.push_back(std::move(row));
  }
  for (DataType t : {DataType::kDouble, DataType::kInt64, DataType::kString, DataType::kBool,
                     DataType::kTimestamp, DataType::kDouble}) {
    c.columns.push_back(RandomColumn(t, rows, rng));
  }
  return c;
}

// The chunk of rows [first, first + n) built as messages, as before.
v1::FeatureRowChunk MessageChunk(const Case& c, size_t first, size_t n, size_t feature_row) {
  v1::FeatureRowChunk chunk;
  chunk.set_first_row_index(static_cast<int64_t>(first));
  for (size_t r = 0; r < n; ++r) {
    cv1::Row* row = chunk.add_rows();
    for (const cv1::Value& v : c.input[first + r].values()) *row->add_values() = v;
    for (const FeatureColumn& col : c.columns) {
      FeatureValueToProto(col, feature_row + r, row->add_values());
    }
  }
  return chunk;
}

std::vector<const FeatureColumn*> Pointers(const Case& c) {
  std::vector<const FeatureColumn*> p;
  for (const FeatureColumn& col : c.columns) p.push_back(&col);
  return p;
}

TEST(HistoricalWireTest, ChunkBytesEqualProtobufSerializationForEveryTypeAndStatus) {
  std::mt19937_64 rng(11);
  ThreadPool pool(2);
  for (size_t input_columns : {0, 1, 3}) {
    const Case c = MakeCase(5000, input_columns, rng);
    // (first row, rows, feature row): first chunk (index 0 omitted), a later
    // one reading its features at an offset, an empty one.
    for (auto [first, n, feature_row] : {std::tuple<size_t, size_t, size_t>{0, 4500, 0},
                                         {300, 4700, 250}, {4999, 1, 4999}, {17, 0, 0}}) {
      for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::string bytes;
        wire::EncodeFeatureRowChunk(static_cast<int64_t>(first), c.encoded, n, Pointers(c),
                                    feature_row, p, &bytes);
        const std::string want = MessageChunk(c, first, n, feature_row).SerializeAsString();
        ASSERT_EQ(bytes, want) << "first " << first << ", rows " << n << ", input columns "
                               << input_columns;
      }
    }
  }
}

TEST(HistoricalWireTest, ResponseCarryingTheBytesSerializesAsTheChunkMessage) {
  std::mt19937_64 rng(5);
  const Case c = MakeCase(300, 2, rng);
  v1::GetHistoricalFeaturesResponse carried;
  std::string* bytes =
      carried.GetReflection()->MutableUnknownFields(&carried)->AddLengthDelimited(2);
  wire::EncodeFeatureRowChunk(40, c.encoded, 200, Pointers(c), 40, nullptr, bytes);
  v1::GetHistoricalFeaturesResponse built;
  *built.mutable_chunk() = MessageChunk(c, 40, 200, 40);
  const std::string serialized = carried.SerializeAsString();
  EXPECT_EQ(serialized, built.SerializeAsString());
  v1::GetHistoricalFeaturesResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(serialized));
  ASSERT_TRUE(parsed.has_chunk());
  EXPECT_EQ(parsed.chunk().first_row_index(), 40);
  EXPECT_EQ(parsed.chunk().rows_size(), 200);
}

}  // namespace
}  // namespace mlops::features
