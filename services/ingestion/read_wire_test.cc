#include "services/ingestion/read_wire.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "mlops/ingestion/v1/ingestion.pb.h"

namespace mlops::ingestion {
namespace {

namespace cv1 = ::mlops::common::v1;

// Random rows of `columns` values of every kind (and NULLs), with values the
// varint and length encodings treat differently (0, negative, long strings).
std::vector<cv1::Row> RandomRows(std::mt19937_64& rng, int n, int columns) {
  std::vector<cv1::Row> rows(static_cast<size_t>(n));
  for (cv1::Row& row : rows) {
    for (int c = 0; c < columns; ++c) {
      cv1::Value* v = row.add_values();
      switch (rng() % 7) {
        case 0: break;  // NULL
        case 1: v->set_int64_value(static_cast<int64_t>(rng()) >> (rng() % 64)); break;
        case 2: v->set_double_value(static_cast<double>(rng() % 1000) / 7.0 - 50); break;
        case 3: v->set_string_value(std::string(rng() % 300, static_cast<char>('a' + rng() % 26))); break;
        case 4: v->set_bool_value(rng() % 2 == 0); break;
        case 5: v->set_timestamp_micros(static_cast<int64_t>(rng() % 2'000'000'000'000'000)); break;
        default: v->set_int64_value(0); break;  // a oneof member set to zero
      }
    }
  }
  return rows;
}

struct Stored {
  std::vector<ChunkRef> refs;
  std::vector<std::string> bytes;
};

// Rows stored as RowChunks of `per_chunk` rows, as the write path stores them.
Stored Store(const std::vector<cv1::Row>& rows, int per_chunk) {
  Stored s;
  for (size_t i = 0; i < rows.size(); i += static_cast<size_t>(per_chunk)) {
    ingestion::v1::RowChunk chunk;
    for (size_t j = i; j < rows.size() && j < i + static_cast<size_t>(per_chunk); ++j) {
      *chunk.add_rows() = rows[j];
    }
    s.refs.push_back({static_cast<int64_t>(i), chunk.rows_size(), "c" + std::to_string(i)});
    s.bytes.push_back(chunk.SerializeAsString());
  }
  return s;
}

// The proto path the encoder replaces, kept here as the reference: parse each
// chunk, copy the (projected) rows into responses of chunk_rows rows, serialize.
std::vector<std::string> Reference(const Stored& stored, const std::vector<int>& columns,
                                   int chunk_rows, int64_t begin, int64_t end) {
  std::vector<std::string> out;
  ingestion::v1::ReadDatasetVersionResponse msg;
  int64_t next = begin;
  for (size_t k = 0; k < stored.refs.size(); ++k) {
    ingestion::v1::RowChunk chunk;
    EXPECT_TRUE(chunk.ParseFromString(stored.bytes[k]));
    for (int i = 0; i < chunk.rows_size(); ++i) {
      const int64_t index = stored.refs[k].first_row + i;
      if (index < begin || index >= end) continue;
      if (msg.chunk().rows_size() == 0) msg.mutable_chunk()->set_first_row_index(next);
      cv1::Row* row = msg.mutable_chunk()->add_rows();
      if (columns.empty()) {
        *row = chunk.rows(i);
      } else {
        for (int c : columns) *row->add_values() = chunk.rows(i).values(c);
      }
      ++next;
      if (msg.chunk().rows_size() >= chunk_rows) {
        out.push_back(msg.SerializeAsString());
        msg.Clear();
      }
    }
  }
  if (msg.chunk().rows_size() > 0) out.push_back(msg.SerializeAsString());
  return out;
}

std::vector<std::string> Encode(const Stored& stored, const std::vector<int>& columns,
                                int chunk_rows, int64_t begin, int64_t end, bool redeliver) {
  std::vector<std::string> out;
  ReadStreamEncoder encoder(columns, chunk_rows, begin, end, [&](WireMessage m) {
    out.emplace_back(m.view());
    return true;
  });
  for (size_t k = 0; k < stored.refs.size(); ++k) {
    const ChunkRef& ref = stored.refs[k];
    if (ref.first_row + ref.row_count <= begin || ref.first_row >= end) continue;
    EXPECT_TRUE(encoder.Add(ref, stored.bytes[k]).ok());
    // A store's retry delivers the chunks seen so far again.
    if (redeliver && k == stored.refs.size() / 2) {
      for (size_t j = 0; j <= k; ++j) EXPECT_TRUE(encoder.Add(stored.refs[j], stored.bytes[j]).ok());
    }
  }
  EXPECT_TRUE(encoder.Finish().ok());
  return out;
}

TEST(ReadStreamEncoderTest, BytesEqualTheProtoPathForEveryProjectionAndRange) {
  std::mt19937_64 rng(7);
  const std::vector<cv1::Row> rows = RandomRows(rng, 1000, 5);
  const Stored stored = Store(rows, 97);
  const std::vector<std::vector<int>> projections = {{}, {0, 1, 2, 3, 4}, {3}, {4, 0, 2}};
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 1000}, {0, 0}, {1, 1000}, {97, 194}, {500, 503}, {999, 1000}, {250, 900}};
  int compared = 0;
  for (const auto& cols : projections) {
    for (const auto& [begin, end] : ranges) {
      for (int chunk_rows : {1, 5, 97, 100, 4096}) {
        const auto want = Reference(stored, cols, chunk_rows, begin, end);
        EXPECT_EQ(Encode(stored, cols, chunk_rows, begin, end, false), want)
            << "begin " << begin << " end " << end << " chunk_rows " << chunk_rows;
        EXPECT_EQ(Encode(stored, cols, chunk_rows, begin, end, true), want);
        compared += static_cast<int>(want.size());
      }
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(ReadStreamEncoderTest, MessagesParseAsResponsesWithTheRows) {
  std::mt19937_64 rng(11);
  const std::vector<cv1::Row> rows = RandomRows(rng, 300, 3);
  const std::vector<std::string> out = Encode(Store(rows, 64), {2, 0}, 128, 10, 300, false);
  ASSERT_EQ(out.size(), 3u);
  ingestion::v1::ReadDatasetVersionResponse msg;
  ASSERT_TRUE(msg.ParseFromString(out[1]));
  EXPECT_EQ(msg.chunk().first_row_index(), 138);
  ASSERT_EQ(msg.chunk().rows_size(), 128);
  EXPECT_EQ(msg.chunk().rows(0).values(0).SerializeAsString(),
            rows[138].values(2).SerializeAsString());
  EXPECT_EQ(msg.chunk().rows(0).values(1).SerializeAsString(),
            rows[138].values(0).SerializeAsString());
}

TEST(ReadStreamEncoderTest, StopsWhenTheWriterDoes) {
  std::mt19937_64 rng(3);
  const Stored stored = Store(RandomRows(rng, 100, 2), 10);
  int writes = 0;
  ReadStreamEncoder encoder({}, 5, 0, 100, [&](WireMessage) { return ++writes < 2; });
  absl::Status s = absl::OkStatus();
  for (size_t k = 0; k < stored.refs.size() && s.ok(); ++k) s = encoder.Add(stored.refs[k], stored.bytes[k]);
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(encoder.stopped());
  EXPECT_EQ(writes, 2);
  EXPECT_TRUE(encoder.Finish().ok());
}

TEST(ReadStreamEncoderTest, CorruptOrShortChunksAreInternal) {
  std::mt19937_64 rng(5);
  const Stored stored = Store(RandomRows(rng, 20, 2), 10);
  {
    ReadStreamEncoder encoder({}, 5, 0, 20, [](WireMessage) { return true; });
    std::string truncated = stored.bytes[0].substr(0, stored.bytes[0].size() - 1);
    EXPECT_EQ(encoder.Add(stored.refs[0], truncated).code(), absl::StatusCode::kInternal);
  }
  {
    ReadStreamEncoder encoder({}, 5, 0, 20, [](WireMessage) { return true; });
    ChunkRef wrong = stored.refs[0];
    wrong.row_count = 11;
    EXPECT_EQ(encoder.Add(wrong, stored.bytes[0]).code(), absl::StatusCode::kInternal);
  }
  {
    ReadStreamEncoder encoder({}, 5, 0, 20, [](WireMessage) { return true; });
    EXPECT_EQ(encoder.Add(stored.refs[1], stored.bytes[1]).code(), absl::StatusCode::kInternal);
  }
  {
    ReadStreamEncoder encoder({}, 5, 0, 20, [](WireMessage) { return true; });
    EXPECT_TRUE(encoder.Add(stored.refs[0], stored.bytes[0]).ok());
    EXPECT_EQ(encoder.Finish().code(), absl::StatusCode::kInternal);  // rows 10..19 never came
  }
  {
    ReadStreamEncoder encoder({7}, 5, 0, 20, [](WireMessage) { return true; });
    EXPECT_EQ(encoder.Add(stored.refs[0], stored.bytes[0]).code(), absl::StatusCode::kInternal);
  }
}

}  // namespace
}  // namespace mlops::ingestion
