#include "services/ingestion/ingestion_service.h"

#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "google/protobuf/arena.h"
#include "common/status/grpc_status.h"
#include "services/ingestion/names.h"
#include "services/ingestion/pipeline_stage.h"
#include "services/ingestion/read_reactor.h"

namespace mlops::ingestion {
namespace {

constexpr absl::Duration kWatchPoll = absl::Seconds(1);
constexpr absl::Duration kHeartbeat = absl::Seconds(10);

// Logs a failed RPC once (server-side faults only) and converts its status.
grpc::Status Done(const char* method, const absl::Status& s) {
  if (!s.ok() && (s.code() == absl::StatusCode::kInternal ||
                  s.code() == absl::StatusCode::kUnavailable ||
                  s.code() == absl::StatusCode::kDataLoss)) {
    LogWarn("ingestion_rpc_failed", {{"method", method}, {"status", s.ToString()}});
  }
  return ToGrpcStatus(s);
}

#define INGESTION_AUTHORIZE(who, ctx, role, method)                      \
  absl::StatusOr<Principal> who = authorizer_->Authorize(*(ctx), role); \
  if (!who.ok()) return Done(method, who.status())

template <class T, class Resp>
grpc::Status Reply(const char* method, absl::StatusOr<T> result, Resp* resp) {
  if (result.ok()) *resp = std::move(*result);
  return Done(method, result.status());
}

// One message on an arena that keeps its first block across Fresh() calls.
struct ArenaBuffer {
  static constexpr size_t kInitialBlock = 4 << 20;  // a 2000-row chunk fits
  ArenaBuffer() : block(kInitialBlock), arena(Options(&block)) {}
  // A new, empty message; the previous one's memory is released first.
  v1::IngestBatchRequest* Fresh() {
    message = nullptr;
    arena.Reset();
    message = google::protobuf::Arena::CreateMessage<v1::IngestBatchRequest>(&arena);
    return message;
  }
  static google::protobuf::ArenaOptions Options(std::vector<char>* block) {
    google::protobuf::ArenaOptions o;
    o.initial_block = block->data();
    o.initial_block_size = block->size();
    return o;
  }
  std::vector<char> block;
  google::protobuf::Arena arena;
  v1::IngestBatchRequest* message = nullptr;
};

}  // namespace

IngestionServiceImpl::IngestionServiceImpl(Ingestion* ingestion, const Authorizer* authorizer,
                                           SourceCatalog* sources, SourcePuller* puller)
    : ingestion_(ingestion), authorizer_(authorizer), sources_(sources), puller_(puller) {}

grpc::Status IngestionServiceImpl::CreateDataset(grpc::ServerContext* ctx,
                                                 const v1::CreateDatasetRequest* req,
                                                 v1::Dataset* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kEditor, "CreateDataset");
  return Reply("CreateDataset", ingestion_->CreateDataset(*who, *req), resp);
}

grpc::Status IngestionServiceImpl::GetDataset(grpc::ServerContext* ctx,
                                              const v1::GetDatasetRequest* req,
                                              v1::Dataset* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "GetDataset");
  return Reply("GetDataset", ingestion_->GetDataset(req->name()), resp);
}

grpc::Status IngestionServiceImpl::ListDatasets(grpc::ServerContext* ctx,
                                                const v1::ListDatasetsRequest* req,
                                                v1::ListDatasetsResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "ListDatasets");
  return Reply("ListDatasets", ingestion_->ListDatasets(*req), resp);
}

grpc::Status IngestionServiceImpl::UpdateExpectations(grpc::ServerContext* ctx,
                                                      const v1::UpdateExpectationsRequest* req,
                                                      v1::ExpectationSuite* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kEditor, "UpdateExpectations");
  return Reply("UpdateExpectations", ingestion_->UpdateExpectations(*who, *req), resp);
}

absl::StatusOr<std::pair<std::unique_ptr<BatchSession>, int64_t>> IngestionServiceImpl::ReadBatch(
    grpc::ServerContext* ctx, grpc::ServerReader<v1::IngestBatchRequest>* reader,
    const Principal& who, bool dry_run) {
  v1::IngestBatchRequest msg;
  if (!reader->Read(&msg)) {
    if (ctx->IsCancelled()) return absl::CancelledError("the client cancelled the stream");
    return absl::InvalidArgumentError("the stream ended without a BatchHeader");
  }
  if (!msg.has_header()) {
    return absl::InvalidArgumentError("the first message must be a BatchHeader");
  }
  absl::StatusOr<std::unique_ptr<BatchSession>> session =
      ingestion_->StartBatch(who, msg.header(), dry_run);
  if (!session.ok()) return session.status();
  // Two stages: this thread receives and parses message n+1 while a worker
  // validates, hashes and spills chunk n (one chunk in flight, two buffers).
  // Every outcome first waits for the chunk in flight, so a chunk's error
  // wins over whatever follows it, as if the chunks were added in line.
  // Each buffer lives on an arena of its own, reset before it is read into:
  // parsing a oneof chunk into a heap message would free and allocate every
  // row and value of the previous chunk again.
  ArenaBuffer buffers[2];
  int next = 0;
  PipelineStage stage;  // declared after buffers: joined before they go
  while (reader->Read(buffers[next].Fresh())) {
    const v1::IngestBatchRequest& m = *buffers[next].message;
    absl::Status previous = stage.Wait();
    if (!previous.ok()) return previous;
    switch (m.payload_case()) {
      case v1::IngestBatchRequest::kChunk:
        stage.Start([batch = session->get(), &m] { return batch->AddChunk(m.chunk()); });
        next ^= 1;
        break;
      case v1::IngestBatchRequest::kEnd: {
        int64_t count = m.end().row_count();
        if (reader->Read(&msg)) {
          return absl::InvalidArgumentError("a message followed BatchEnd");
        }
        return std::make_pair(std::move(*session), count);
      }
      default:
        return absl::InvalidArgumentError("only the first message may be a BatchHeader");
    }
  }
  if (absl::Status last = stage.Wait(); !last.ok()) return last;
  if (ctx->IsCancelled()) return absl::CancelledError("the client cancelled the stream");
  return absl::InvalidArgumentError("the stream ended without BatchEnd; nothing was stored");
}

grpc::Status IngestionServiceImpl::IngestBatch(grpc::ServerContext* ctx,
                                               grpc::ServerReader<v1::IngestBatchRequest>* reader,
                                               v1::IngestBatchResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kEditor, "IngestBatch");
  auto batch = ReadBatch(ctx, reader, *who, false);
  if (!batch.ok()) return Done("IngestBatch", batch.status());
  return Reply("IngestBatch", batch->first->Commit(batch->second), resp);
}

grpc::Status IngestionServiceImpl::ValidateBatch(grpc::ServerContext* ctx,
                                                 grpc::ServerReader<v1::IngestBatchRequest>* reader,
                                                 v1::ValidateBatchResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "ValidateBatch");
  auto batch = ReadBatch(ctx, reader, *who, true);
  if (!batch.ok()) return Done("ValidateBatch", batch.status());
  absl::StatusOr<v1::ValidationReport> report = batch->first->Validate(batch->second);
  if (report.ok()) *resp->mutable_report() = std::move(*report);
  return Done("ValidateBatch", report.status());
}

grpc::Status IngestionServiceImpl::GetDatasetVersion(grpc::ServerContext* ctx,
                                                     const v1::GetDatasetVersionRequest* req,
                                                     v1::DatasetVersion* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "GetDatasetVersion");
  return Reply("GetDatasetVersion", ingestion_->GetDatasetVersion(*req), resp);
}

grpc::Status IngestionServiceImpl::ListDatasetVersions(grpc::ServerContext* ctx,
                                                       const v1::ListDatasetVersionsRequest* req,
                                                       v1::ListDatasetVersionsResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "ListDatasetVersions");
  return Reply("ListDatasetVersions", ingestion_->ListDatasetVersions(*req), resp);
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* IngestionServiceImpl::ReadDatasetVersion(
    grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request) {
  absl::StatusOr<Principal> who = authorizer_->Authorize(*ctx, Role::kViewer);
  if (!who.ok()) return ReadReactor::Fail(Done("ReadDatasetVersion", who.status()));
  auto req = std::make_shared<v1::ReadDatasetVersionRequest>();
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (request->Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  if (!req->ParseFromString(bytes)) {
    return ReadReactor::Fail(Done("ReadDatasetVersion",
                                  absl::InvalidArgumentError("request: not a ReadDatasetVersionRequest")));
  }
  return ReadReactor::Start(
      [this, req](const ReadReactor::Push& push) {
        return ingestion_->ReadDatasetVersion(*req, push);
      },
      [](const absl::Status& s) { return Done("ReadDatasetVersion", s); });
}

grpc::Status IngestionServiceImpl::GetProfile(grpc::ServerContext* ctx,
                                              const v1::GetProfileRequest* req,
                                              v1::GetProfileResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "GetProfile");
  return Reply("GetProfile", ingestion_->GetProfile(*req), resp);
}

grpc::Status IngestionServiceImpl::GetLineage(grpc::ServerContext* ctx,
                                              const v1::GetLineageRequest* req,
                                              v1::GetLineageResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "GetLineage");
  return Reply("GetLineage", ingestion_->GetLineage(*req), resp);
}

grpc::Status IngestionServiceImpl::WatchDatasetVersions(
    grpc::ServerContext* ctx, const v1::WatchDatasetVersionsRequest* req,
    grpc::ServerWriter<v1::WatchDatasetVersionsResponse>* writer) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "WatchDatasetVersions");
  for (const auto& [name, seq] : req->after_sequence()) {
    if (!IsValidName(name) || seq < 0) {
      return Done("WatchDatasetVersions",
                  absl::InvalidArgumentError("after_sequence: bad name or negative sequence"));
    }
  }
  // Per followed dataset: the last sequence sent.
  std::map<std::string, int64_t> cursor;
  const bool all = req->datasets().empty();
  for (const std::string& name : req->datasets()) {
    absl::StatusOr<v1::Dataset> d = ingestion_->GetDataset(name);
    if (!d.ok()) return Done("WatchDatasetVersions", d.status());
    auto it = req->after_sequence().find(name);
    cursor[name] = it != req->after_sequence().end() ? it->second : d->head_sequence();
  }
  bool first_poll = true;
  absl::Time last_sent = absl::Now();
  uint64_t seen = ingestion_->commit_count();
  while (!ctx->IsCancelled()) {
    if (draining_) {
      return Done("WatchDatasetVersions", absl::UnavailableError("the server is draining; resume"));
    }
    if (all) {
      absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> heads =
          ingestion_->DatasetHeads();
      if (!heads.ok()) return Done("WatchDatasetVersions", heads.status());
      for (const auto& [name, head] : *heads) {
        if (cursor.count(name) > 0) continue;
        auto it = req->after_sequence().find(name);
        // Datasets created after the call start from 0: all their versions.
        cursor[name] = it != req->after_sequence().end() ? it->second : (first_poll ? head : 0);
      }
    }
    first_poll = false;
    for (auto& [name, last] : cursor) {
      absl::StatusOr<std::vector<v1::DatasetVersion>> vs =
          ingestion_->VersionsAfter(name, last, 100);
      if (!vs.ok()) return Done("WatchDatasetVersions", vs.status());
      for (v1::DatasetVersion& v : *vs) {
        v1::WatchDatasetVersionsResponse msg;
        last = v.sequence();
        *msg.mutable_version() = std::move(v);
        if (!writer->Write(msg)) return grpc::Status::OK;
        last_sent = absl::Now();
      }
    }
    if (absl::Now() - last_sent >= kHeartbeat) {
      v1::WatchDatasetVersionsResponse msg;
      msg.mutable_heartbeat()->set_server_time_micros(absl::ToUnixMicros(absl::Now()));
      if (!writer->Write(msg)) return grpc::Status::OK;
      last_sent = absl::Now();
    }
    seen = ingestion_->WaitForCommit(seen, kWatchPoll);
  }
  return Done("WatchDatasetVersions", absl::CancelledError("the client cancelled the watch"));
}

grpc::Status IngestionServiceImpl::CreateSource(grpc::ServerContext* ctx,
                                                const v1::CreateSourceRequest* req,
                                                v1::Source* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kEditor, "CreateSource");
  if (sources_ == nullptr) return Done("CreateSource", absl::UnimplementedError("no sources"));
  return Reply("CreateSource", sources_->CreateSource(*who, *req), resp);
}

grpc::Status IngestionServiceImpl::ListSources(grpc::ServerContext* ctx,
                                               const v1::ListSourcesRequest* req,
                                               v1::ListSourcesResponse* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kViewer, "ListSources");
  if (sources_ == nullptr) return Done("ListSources", absl::UnimplementedError("no sources"));
  return Reply("ListSources", sources_->ListSources(*req), resp);
}

grpc::Status IngestionServiceImpl::TriggerSourcePull(grpc::ServerContext* ctx,
                                                     const v1::TriggerSourcePullRequest* req,
                                                     v1::SourcePullResult* resp) {
  INGESTION_AUTHORIZE(who, ctx, Role::kEditor, "TriggerSourcePull");
  if (puller_ == nullptr) return Done("TriggerSourcePull", absl::UnimplementedError("no sources"));
  return Reply("TriggerSourcePull", puller_->Pull(req->name()), resp);
}

}  // namespace mlops::ingestion
