#include "services/features/ingestion_client.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "common/status/grpc_status.h"

namespace mlops::features {
namespace {

constexpr std::chrono::milliseconds kCallDeadline{10000};
// A read streams a whole dataset version: allow it time.
constexpr std::chrono::milliseconds kReadDeadline{30 * 60 * 1000};
constexpr char kReadMethod[] = "/mlops.ingestion.v1.IngestionService/ReadDatasetVersion";
constexpr int kReadChunkRows = 16384;

}  // namespace

IngestionClient::IngestionClient(std::shared_ptr<grpc::Channel> channel,
                                 ContextFactory new_context)
    : channel_(channel),
      read_method_(kReadMethod, grpc::internal::RpcMethod::SERVER_STREAMING, channel),
      stub_(iv1::IngestionService::NewStub(channel)),
      new_context_(std::move(new_context)) {}

absl::StatusOr<iv1::Dataset> IngestionClient::GetDataset(const std::string& name) const {
  iv1::GetDatasetRequest req;
  req.set_name(name);
  iv1::Dataset resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(kCallDeadline);
  grpc::Status s = stub_->GetDataset(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return resp;
}

absl::StatusOr<iv1::DatasetVersion> IngestionClient::GetVersion(
    const std::string& dataset, const std::string& version_id) const {
  iv1::GetDatasetVersionRequest req;
  req.mutable_version()->set_dataset(dataset);
  if (version_id != "latest") req.mutable_version()->set_version_id(version_id);
  iv1::DatasetVersion resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(kCallDeadline);
  grpc::Status s = stub_->GetDatasetVersion(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  if (resp.dataset() != dataset) {
    return absl::NotFoundError(absl::StrCat("dataset version ", version_id,
                                            " does not belong to dataset \"", dataset, "\""));
  }
  return resp;
}

absl::StatusOr<std::vector<iv1::DatasetVersion>> IngestionClient::ListVersions(
    const std::string& dataset, int limit) const {
  iv1::ListDatasetVersionsRequest req;
  req.set_dataset(dataset);
  req.mutable_page()->set_page_size(limit);
  iv1::ListDatasetVersionsResponse resp;
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(kCallDeadline);
  grpc::Status s = stub_->ListDatasetVersions(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpcStatus(s);
  return std::vector<iv1::DatasetVersion>(resp.versions().begin(), resp.versions().end());
}

absl::Status IngestionClient::Read(
    const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns,
    const std::function<absl::Status(const iv1::ReadHeader&)>& on_header,
    const std::function<absl::Status(iv1::ReadChunk&)>& on_chunk) const {
  return ReadFrom(dataset, version_id, columns, 0, on_header, on_chunk);
}

absl::Status IngestionClient::ReadFrom(
    const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(const iv1::ReadHeader&)>& on_header,
    const std::function<absl::Status(iv1::ReadChunk&)>& on_chunk) const {
  const iv1::ReadDatasetVersionRequest req = ReadRequest(dataset, version_id, columns, offset);
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(kReadDeadline);
  std::unique_ptr<grpc::ClientReader<iv1::ReadDatasetVersionResponse>> reader =
      stub_->ReadDatasetVersion(ctx.get(), req);
  // Each message is parsed onto its own arena over a reused first block:
  // no allocation per row or value, and nothing to destroy value by value.
  // The block grows to the largest message seen.
  std::vector<char> block(size_t{1} << 20);
  absl::Status status;
  bool header_seen = false;
  while (status.ok()) {
    size_t used = 0;
    {
      google::protobuf::ArenaOptions options;
      options.initial_block = block.data();
      options.initial_block_size = block.size();
      options.max_block_size = size_t{1} << 20;
      google::protobuf::Arena arena(options);
      auto* msg = google::protobuf::Arena::CreateMessage<iv1::ReadDatasetVersionResponse>(&arena);
      if (!reader->Read(msg)) break;
      if (msg->has_header()) {
        header_seen = true;
        status = on_header(msg->header());
      } else if (msg->has_chunk()) {
        if (!header_seen) status = absl::InternalError("ingestion sent a chunk before the header");
        if (status.ok()) status = on_chunk(*msg->mutable_chunk());
      }
      used = arena.SpaceAllocated();
    }
    if (used > block.size()) block.resize(used);
  }
  if (!status.ok()) {
    ctx->TryCancel();
    reader->Finish();
    return status;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  if (!header_seen) return absl::InternalError("ingestion sent no read header");
  return absl::OkStatus();
}

iv1::ReadDatasetVersionRequest IngestionClient::ReadRequest(
    const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset) const {
  iv1::ReadDatasetVersionRequest req;
  req.set_offset(offset);
  req.mutable_version()->set_dataset(dataset);
  req.mutable_version()->set_version_id(version_id);
  for (const std::string& c : columns) req.add_columns(c);
  req.set_chunk_rows(kReadChunkRows);
  return req;
}

absl::Status IngestionClient::ReadRaw(
    const std::string& dataset, const std::string& version_id,
    const std::vector<std::string>& columns, int64_t offset,
    const std::function<absl::Status(std::string_view)>& on_message) const {
  const iv1::ReadDatasetVersionRequest req = ReadRequest(dataset, version_id, columns, offset);
  std::unique_ptr<grpc::ClientContext> ctx = new_context_(kReadDeadline);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel_.get(), read_method_,
                                                                    ctx.get(), req));
  // The receiver thread flattens each message into a string and queues it.
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::string> queue;  // guarded by mu
  bool received_all = false;      // guarded by mu
  bool stop = false;              // guarded by mu: the consumer gave up
  std::thread receiver([&] {
    grpc::ByteBuffer buffer;
    std::vector<grpc::Slice> slices;
    for (;;) {
      if (!reader->Read(&buffer)) break;
      std::string bytes;
      slices.clear();
      if (buffer.Dump(&slices).ok()) {
        size_t size = 0;
        for (const grpc::Slice& slice : slices) size += slice.size();
        bytes.reserve(size);
        for (const grpc::Slice& slice : slices) {
          bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
        }
      }
      buffer.Clear();
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return stop || queue.size() < kReadAhead; });
      if (stop) break;
      queue.push_back(std::move(bytes));
      changed.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    received_all = true;
    changed.notify_all();
  });
  absl::Status status;
  for (;;) {
    std::string bytes;
    {
      std::unique_lock<std::mutex> lock(mu);
      changed.wait(lock, [&] { return received_all || !queue.empty(); });
      if (queue.empty()) break;
      bytes = std::move(queue.front());
      queue.pop_front();
      changed.notify_all();
    }
    status = on_message(bytes);
    if (!status.ok()) break;
  }
  if (!status.ok()) {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      changed.notify_all();
    }
    ctx->TryCancel();
  }
  receiver.join();
  grpc::Status s = reader->Finish();
  if (!status.ok()) return status;
  if (!s.ok()) return FromGrpcStatus(s);
  return absl::OkStatus();
}

}  // namespace mlops::features
