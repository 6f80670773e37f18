// ReadDatasetVersion through in-process gRPC over a real Postgres, read as
// raw bytes: every message equals protobuf's serialization of the response
// the proto path built (header, then chunks of the projected rows).
#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "grpcpp/client_context.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "gtest/gtest.h"
#include "services/ingestion/ingestion_pg_fixture.h"

namespace mlops::ingestion {
namespace {

namespace cv1 = ::mlops::common::v1;

cv1::Row Row(int64_t i) {
  cv1::Row r;
  r.add_values()->set_int64_value(i % 97);
  r.add_values()->set_double_value(static_cast<double>(i) / 3);
  cv1::Value* label = r.add_values();
  if (i % 4 != 0) label->set_string_value(std::string(static_cast<size_t>(i % 40), 'x'));
  r.add_values()->set_timestamp_micros(1'700'000'000'000'000 + i);
  return r;
}

class ReadWireTest : public IngestionPgFixture {
 protected:
  // The raw messages of a read, and its final status.
  grpc::Status ReadRaw(const v1::ReadDatasetVersionRequest& req, std::vector<std::string>* out,
                       const char* token = kViewerToken) {
    grpc::ClientContext ctx;
    if (token != nullptr) Auth(&ctx, token);
    static const char kMethod[] = "/mlops.ingestion.v1.IngestionService/ReadDatasetVersion";
    grpc::internal::RpcMethod method(kMethod, grpc::internal::RpcMethod::SERVER_STREAMING);
    std::shared_ptr<grpc::Channel> channel = server_->InProcessChannel();
    std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
        grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), method, &ctx,
                                                                      req));
    grpc::ByteBuffer buffer;
    while (reader->Read(&buffer)) {
      std::vector<grpc::Slice> slices;
      EXPECT_TRUE(buffer.Dump(&slices).ok());
      std::string bytes;
      for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      out->push_back(std::move(bytes));
    }
    return reader->Finish();
  }

  // Creates the dataset "tx" with TxSchema().
  bool CreateTx() {
    grpc::ClientContext ctx;
    Auth(&ctx);
    v1::CreateDatasetRequest create;
    create.set_name("tx");
    *create.mutable_schema() = TxSchema();
    v1::Dataset created;
    return stub_->CreateDataset(&ctx, create, &created).ok();
  }

  v1::DatasetVersion Version(const std::string& id) {
    grpc::ClientContext ctx;
    Auth(&ctx, kViewerToken);
    v1::GetDatasetVersionRequest req;
    req.mutable_version()->set_version_id(id);
    v1::DatasetVersion v;
    EXPECT_TRUE(stub_->GetDatasetVersion(&ctx, req, &v).ok());
    return v;
  }
};

TEST_F(ReadWireTest, MessagesAreTheProtoSerializationBitForBit) {
  ASSERT_TRUE(CreateTx());
  // Two batches over several stored chunks (4096 rows each): an APPEND
  // version reads its parent's chunks, then its own.
  std::vector<cv1::Row> rows;
  for (int64_t i = 0; i < 9000; ++i) rows.push_back(Row(i));
  const std::vector<cv1::Row> first(rows.begin(), rows.begin() + 5000);
  const std::vector<cv1::Row> second(rows.begin() + 5000, rows.end());
  ASSERT_TRUE(Ingest("tx", first, "", true, v1::INGEST_MODE_APPEND, 1000).status.ok());
  IngestResult b = Ingest("tx", second, "", true, v1::INGEST_MODE_APPEND, 1000);
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  const v1::DatasetVersion version = Version(b.resp.version().id());

  struct Case {
    std::vector<std::string> columns;
    std::vector<int> indexes;
    int64_t offset, limit;
    int chunk_rows;
  };
  const std::vector<Case> cases = {
      {{}, {0, 1, 2, 3}, 0, 0, 0},              // everything, default chunks of 4096
      {{}, {0, 1, 2, 3}, 4000, 1500, 333},      // across the stored chunk boundary
      {{"ts", "label", "id"}, {3, 2, 0}, 0, 0, 1000},
      {{"amount"}, {1}, 8999, 0, 7},            // the last row
      {{"label"}, {2}, 9000, 0, 10},            // from the end: header only
  };
  for (const Case& c : cases) {
    v1::ReadDatasetVersionRequest req;
    req.mutable_version()->set_version_id(version.id());
    for (const std::string& col : c.columns) req.add_columns(col);
    req.set_offset(c.offset);
    req.set_limit(c.limit);
    req.set_chunk_rows(c.chunk_rows);
    std::vector<std::string> got;
    ASSERT_TRUE(ReadRaw(req, &got).ok());
    // What the proto path sends for this request.
    const int64_t end = c.limit == 0 ? 9000 : std::min<int64_t>(9000, c.offset + c.limit);
    const int chunk_rows = c.chunk_rows == 0 ? 4096 : c.chunk_rows;
    std::vector<std::string> want;
    v1::ReadDatasetVersionResponse header;
    *header.mutable_header()->mutable_version() = version;
    for (int i : c.indexes) *header.mutable_header()->mutable_schema()->add_columns() = TxSchema().columns(i);
    header.mutable_header()->set_row_count(end - c.offset);
    want.push_back(header.SerializeAsString());
    v1::ReadDatasetVersionResponse chunk;
    for (int64_t r = c.offset; r < end; ++r) {
      if (chunk.chunk().rows_size() == 0) chunk.mutable_chunk()->set_first_row_index(r);
      cv1::Row* row = chunk.mutable_chunk()->add_rows();
      for (int i : c.indexes) *row->add_values() = rows[static_cast<size_t>(r)].values(i);
      if (chunk.chunk().rows_size() == chunk_rows || r + 1 == end) {
        want.push_back(chunk.SerializeAsString());
        chunk.Clear();
      }
    }
    ASSERT_EQ(got.size(), want.size()) << "offset " << c.offset;
    for (size_t m = 0; m < want.size(); ++m) EXPECT_EQ(got[m], want[m]) << "message " << m;
  }
}

TEST_F(ReadWireTest, ReadsNeedAViewerAndAKnownVersion) {
  v1::ReadDatasetVersionRequest req;
  req.mutable_version()->set_version_id(std::string(64, 'a'));
  std::vector<std::string> got;
  EXPECT_EQ(ReadRaw(req, &got, nullptr).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ReadRaw(req, &got).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_chunk_rows(70000);
  EXPECT_EQ(ReadRaw(req, &got).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(got.empty());
}

// A read takes its chunks a few at a time, each batch in its own short
// transaction, so the consumer runs holding no connection: on a pool of
// one, a call made while the read is under way still gets the connection.
TEST_F(ReadWireTest, AReaderHoldsNoConnectionBetweenChunkBatches) {
  ASSERT_TRUE(CreateTx());
  std::vector<cv1::Row> rows;
  for (int64_t i = 0; i < 40000; ++i) rows.push_back(Row(i));
  IngestResult in = Ingest("tx", rows, "", true, v1::INGEST_MODE_APPEND, 5000);
  ASSERT_TRUE(in.status.ok()) << in.status.error_message();
  const std::string version = in.resp.version().id();

  PgPoolOptions one;
  one.search_path = "ingestion";
  one.size = 1;
  one.acquire_timeout = absl::Milliseconds(500);
  std::unique_ptr<PgPool> pool = MakePool(one);
  PgIngestionStore store(pool.get());
  absl::StatusOr<std::vector<ChunkRef>> listed = store.ListChunks(version);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_GT(listed->size(), 8u);  // more than one batch

  int64_t next_row = 0;
  size_t chunks = 0;
  const absl::Status read = store.ForEachChunk(
      version, 0, 40000, [&](const ChunkRef& ref, std::string_view bytes) -> absl::Status {
        EXPECT_EQ(ref.first_row, next_row);
        EXPECT_FALSE(bytes.empty());
        next_row += ref.row_count;
        ++chunks;
        return store.ListChunks(version).status();  // needs the pool's one connection
      });
  EXPECT_TRUE(read.ok()) << read;
  EXPECT_EQ(next_row, 40000);
  EXPECT_EQ(chunks, listed->size());

  // A row range reads only the chunks that hold its rows.
  std::vector<int64_t> firsts;
  ASSERT_TRUE(store
                  .ForEachChunk(version, (*listed)[9].first_row, (*listed)[9].first_row + 1,
                                [&](const ChunkRef& ref, std::string_view) {
                                  firsts.push_back(ref.first_row);
                                  return absl::OkStatus();
                                })
                  .ok());
  EXPECT_EQ(firsts, std::vector<int64_t>{(*listed)[9].first_row});
}

}  // namespace
}  // namespace mlops::ingestion
