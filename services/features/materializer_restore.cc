// Materializer: the online store write, and the incremental state across a
// restart (see materializer.h).
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/features/materializer.h"

namespace mlops::features {
namespace {

// Entities per online_chunks row (FULL runs).
constexpr size_t kChunkEntities = 4096;
// An incremental run that changed more than 1/kDenseDeltaRatio of the
// entities writes chunks, as FULL does: measured at load 3-5 (100k
// entities), upserting rows costs ~23 us per row (70k rows: 1.6-1.8 s) and
// the chunks ~2.5-4.5 us per entity (0.24-0.47 s).
constexpr size_t kDenseDeltaRatio = 8;

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void Materializer::Restore(const ResolvedView& view) {
  const auto key = std::make_pair(view.definition.name, view.definition.version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (kept_.count(key) != 0) return;
  }
  absl::StatusOr<std::optional<RunRecord>> last = store_->LastSuccess(key.first, key.second);
  if (!last.ok() || !last->has_value()) return;
  const RunRecord& run = **last;
  if (online_->LoadedRun(key.first, key.second) != run.id) {
    absl::Status loaded = LoadOnlineStore();
    if (!loaded.ok() || online_->LoadedRun(key.first, key.second) != run.id) return;
  }
  std::shared_ptr<const LoadedView> stored;
  {
    std::shared_ptr<const OnlineCatalog> catalog = online_->Load();
    stored = catalog->at(key.first).at(key.second);
  }
  absl::StatusOr<iv1::DatasetVersion> base =
      ingestion_->GetVersion(view.definition.source_dataset, run.source_version_id);
  if (!base.ok()) return;  // e.g. the version is gone: FULL
  Kept kept;
  kept.base = IncrementalBase{run.source_version_id, base->row_count(), run.as_of_micros};
  kept.run_id = run.id;
  kept.stored = std::move(stored);
  std::lock_guard<std::mutex> lock(mu_);
  kept_.emplace(key, std::move(kept));  // unless a run of this process got there first
}

absl::StatusOr<Materializer::Kept> Materializer::KeptState(const ResolvedView& view,
                                                          int64_t* rows_read) {
  const auto key = std::make_pair(view.definition.name, view.definition.version);
  Kept kept;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = kept_.find(key);
    if (it == kept_.end()) return absl::FailedPreconditionError("the incremental state is gone");
    kept = it->second;
  }
  if (kept.state != nullptr) return kept;
  // Restored: the stored snapshot is a FULL run's over the base version as
  // of the base's as_of (incremental runs equal FULL ones), so the state
  // FromFull builds from that version's table is the one a FULL run keeps.
  const auto start = std::chrono::steady_clock::now();
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> table,
                         cache_->Get(view.definition, kept.base.source_version_id));
  if (table->num_events() != kept.base.row_count) {
    return absl::FailedPreconditionError(absl::StrCat(
        "base version ", kept.base.source_version_id, " reads ", table->num_events(),
        " rows; expected ", kept.base.row_count));
  }
  *rows_read = table->num_events();
  kept.state = IncrementalState::FromFull(table, kept.stored->snapshot,
                                          kept.stored->last_event_micros, kept.base.as_of_micros,
                                          pool_);
  kept.stored = nullptr;
  LogInfo("features_incremental_state_rebuilt",
          {{"view", key.first},
           {"version", std::to_string(key.second)},
           {"base_version", kept.base.source_version_id},
           {"rows", std::to_string(*rows_read)},
           {"seconds", std::to_string(SecondsSince(start))}});
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kept_.find(key);
  if (it != kept_.end() && it->second.run_id == kept.run_id) it->second = kept;
  return kept;
}

absl::Status Materializer::WriteOnline(const RunRecord& run, const LoadedView& loaded,
                                       const Delta* delta) {
  const auto start = std::chrono::steady_clock::now();
  OnlineWrite write;
  if (delta != nullptr && delta->changed_rows.size() * kDenseDeltaRatio >
                              loaded.snapshot->num_entities()) {
    delta = nullptr;  // dense: rewriting the chunks is cheaper than upserting rows
  }
  if (delta != nullptr) {
    write.replace_all = false;
    write.base_run_id = delta->base_run_id;
    write.rows = EncodeOnlineRows(loaded, delta->changed_rows, pool_);
  } else {
    write.chunks = EncodeOnlineChunks(loaded, kChunkEntities, pool_);
  }
  const double encode_seconds = SecondsSince(start);
  absl::Status s = store_->FinishRun(run, write);
  if (s.code() == absl::StatusCode::kFailedPrecondition && !write.replace_all) {
    // Another replica's run finished since our base: write every entity.
    LogWarn("features_online_write_full", {{"view", run.view}, {"reason", s.ToString()}});
    write.replace_all = true;
    write.rows.clear();
    write.chunks = EncodeOnlineChunks(loaded, kChunkEntities, pool_);
    s = store_->FinishRun(run, write);
  }
  MLOPS_RETURN_IF_ERROR(s);
  LogInfo("features_online_store_written",
          {{"view", run.view},
           {"rows", std::to_string(write.rows.size())},
           {"chunks", std::to_string(write.chunks.size())},
           {"replace_all", write.replace_all ? "true" : "false"},
           {"encode_seconds", std::to_string(encode_seconds)},
           {"seconds", std::to_string(SecondsSince(start))}});
  return absl::OkStatus();
}

}  // namespace mlops::features
