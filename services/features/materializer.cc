#include "services/features/materializer.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status_macros.h"
#include "services/features/event_table_cache.h"
#include "services/features/feature_evaluator.h"
#include "services/features/ingestion_wire.h"
#include "services/features/proto_convert.h"

namespace mlops::features {
namespace {

// AUTO views: how many versions per view are kept up to date, newest first.
constexpr size_t kMaxFollowedVersions = 3;

}  // namespace

void RunToProto(const RunRecord& run, v1::MaterializationRun* out) {
  out->set_view(run.view);
  out->set_version(run.version);
  out->set_state(static_cast<v1::MaterializationState>(run.state));
  out->set_requested_mode(static_cast<v1::MaterializationMode>(run.requested_mode));
  out->set_mode(static_cast<v1::MaterializationMode>(run.mode));
  out->set_as_of_micros(run.as_of_micros);
  out->set_source_dataset_version_id(run.source_version_id);
  out->set_rows_read(run.rows_read);
  out->set_entities_written(run.entities_written);
  out->set_started_at_micros(run.started_at_micros);
  out->set_finished_at_micros(run.finished_at_micros);
  out->set_error(run.error);
  out->set_trigger(run.trigger);
  out->set_principal(run.principal);
}

absl::StatusOr<RunRecord> Materializer::Materialize(const MaterializeParams& p) {
  MLOPS_ASSIGN_OR_RETURN(ResolvedView view, views_->Get(p.view, p.version));
  const int64_t now = views_->NowMicros();
  RunRecord run;
  run.view = view.definition.name;
  run.version = view.definition.version;
  run.as_of_micros = p.as_of_micros == 0 ? now : p.as_of_micros;
  if (!TimeInRange(run.as_of_micros)) {
    return absl::InvalidArgumentError("as_of_micros: timestamp out of range");
  }
  run.requested_mode = p.requested_mode;
  run.mode = RunMode::kFull;
  run.trigger = p.trigger;
  run.principal = p.principal;
  if (p.requested_mode == RunMode::kIncremental) {
    MLOPS_ASSIGN_OR_RETURN(std::optional<RunRecord> last,
                           store_->LastSuccess(run.view, run.version));
    if (last.has_value() && run.as_of_micros < last->as_of_micros) {
      return absl::FailedPreconditionError(absl::StrCat(
          "INCREMENTAL as of ", run.as_of_micros, " is earlier than the last run's as_of ",
          last->as_of_micros, " (use FULL to go back)"));
    }
  }
  MLOPS_ASSIGN_OR_RETURN(iv1::DatasetVersion source,
                         ingestion_->GetVersion(view.definition.source_dataset,
                                                p.source_version_id));
  run.source_version_id = source.id();
  run.source_version_created_micros = source.created_at_micros();
  const auto key = std::make_pair(run.view, run.version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_.insert(key).second) {
      return absl::AbortedError(absl::StrCat("a materialization of ", run.view, "@", run.version,
                                             " is already running"));
    }
  }
  const ModePlan plan = Plan(view, run, source);
  absl::StatusOr<RunRecord> out = Run(view, std::move(run), plan, source.row_count());
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(key);
  return out;
}

ModePlan Materializer::Plan(const ResolvedView& view, const RunRecord& run,
                            const iv1::DatasetVersion& source) {
  if (run.requested_mode == RunMode::kIncremental) Restore(view);
  std::optional<IncrementalBase> base;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = kept_.find({run.view, run.version});
    if (it != kept_.end()) base = it->second.base;
  }
  std::vector<VersionLink> chain;
  auto link = [](const iv1::DatasetVersion& v) {
    return VersionLink{v.id(), v.parent_id(), v.mode() != iv1::INGEST_MODE_REPLACE, v.row_count()};
  };
  chain.push_back(link(source));
  if (run.requested_mode == RunMode::kIncremental && base.has_value()) {
    // Walk the lineage back to the base (or a REPLACE, or the first version).
    while (chain.size() < kMaxLineageWalk && chain.back().id != base->source_version_id &&
           chain.back().parent_id != base->source_version_id && chain.back().append &&
           !chain.back().parent_id.empty()) {
      absl::StatusOr<iv1::DatasetVersion> parent =
          ingestion_->GetVersion(view.definition.source_dataset, chain.back().parent_id);
      if (!parent.ok()) break;  // FULL below
      chain.push_back(link(*parent));
    }
  }
  ModePlan plan = PlanMaterialization(run.requested_mode, base, chain, run.as_of_micros);
  LogInfo("features_materialization_mode",
          {{"view", run.view},
           {"version", std::to_string(run.version)},
           {"mode", plan.mode == RunMode::kIncremental ? "INCREMENTAL" : "FULL"},
           {"reason", plan.reason},
           {"source_version", run.source_version_id},
           {"trigger", run.trigger}});
  return plan;
}

absl::StatusOr<Materializer::Kept> Materializer::RunFull(const ResolvedView& view, RunRecord* run,
                                                         LoadedView* loaded) {
  run->mode = RunMode::kFull;
  MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const EventTable> table,
                         cache_->Get(view.definition, run->source_version_id));
  FeatureEvaluator evaluator(table);
  loaded->snapshot = OnlineSnapshot::Materialize(evaluator, run->as_of_micros, pool_);
  loaded->last_event_micros = LastEventTimes(*loaded->snapshot, *table);
  run->rows_read = table->num_events();
  Kept kept;
  kept.state = IncrementalState::FromFull(table, loaded->snapshot, loaded->last_event_micros,
                                          run->as_of_micros, pool_);
  return kept;
}

absl::StatusOr<Materializer::Kept> Materializer::RunIncremental(const ResolvedView& view,
                                                                const ModePlan& plan,
                                                                int64_t source_rows,
                                                                RunRecord* run,
                                                                LoadedView* loaded,
                                                                Delta* delta) {
  const auto start = std::chrono::steady_clock::now();
  int64_t rebuild_rows = 0;
  MLOPS_ASSIGN_OR_RETURN(Kept kept, KeptState(view, &rebuild_rows));
  const std::shared_ptr<const IncrementalState>& state = kept.state;
  delta->base_run_id = kept.run_id;
  const FeatureViewDefinition& d = view.definition;
  SourceSchema schema;
  ColumnBatch appended;
  MLOPS_RETURN_IF_ERROR(ReadColumnarInto(
      *ingestion_, d.source_dataset, run->source_version_id, ViewSourceColumns(d), plan.offset,
      [&](const iv1::ReadHeader& header, const SourceSchema& s) -> absl::Status {
        if (header.row_count() != source_rows - plan.offset) {
          return absl::FailedPreconditionError(absl::StrCat(
              "ingestion returns ", header.row_count(), " rows from offset ", plan.offset,
              "; expected ", source_rows - plan.offset));
        }
        schema = s;
        return absl::OkStatus();
      },
      &appended));
  if (appended.columns.empty()) {  // no rows: the batch still needs its columns
    for (const SourceColumn& c : schema.columns) appended.columns.emplace_back(c.type);
  }
  const auto read = std::chrono::steady_clock::now();
  MLOPS_ASSIGN_OR_RETURN(IncrementalState::Update update,
                         state->Apply(appended, run->as_of_micros, pool_));
  const auto applied = std::chrono::steady_clock::now();
  run->mode = RunMode::kIncremental;
  run->rows_read = rebuild_rows + appended.num_rows;
  delta->changed_rows = std::move(update.changed_rows);
  loaded->snapshot = update.state->snapshot();
  loaded->last_event_micros = update.state->last_event_micros();
  LogInfo("features_incremental_applied",
          {{"view", run->view},
           {"rows", std::to_string(appended.num_rows)},
           {"entities_recomputed", std::to_string(update.entities_recomputed)},
           {"entities_added", std::to_string(update.entities_added)},
           {"rebuild_rows", std::to_string(rebuild_rows)},
           {"retained_events", std::to_string(update.state->retained_events())},
           {"held_events", std::to_string(update.state->held_events())},
           {"read_seconds", std::to_string(std::chrono::duration<double>(read - start).count())},
           {"apply_seconds",
            std::to_string(std::chrono::duration<double>(applied - read).count())}});
  Kept next;
  next.state = std::move(update.state);
  return next;
}

absl::StatusOr<RunRecord> Materializer::Run(const ResolvedView& view, RunRecord run,
                                            const ModePlan& plan, int64_t source_rows) {
  run.started_at_micros = views_->NowMicros();
  run.mode = plan.mode;
  MLOPS_ASSIGN_OR_RETURN(run.id, store_->StartRun(run));
  absl::Status status = [&]() -> absl::Status {
    auto loaded = std::make_shared<LoadedView>();
    absl::StatusOr<Kept> kept = absl::UnknownError("not run");
    Delta delta;
    if (plan.mode == RunMode::kIncremental) {
      kept = RunIncremental(view, plan, source_rows, &run, loaded.get(), &delta);
      if (!kept.ok()) {
        LogWarn("features_incremental_fallback",
                {{"view", run.view}, {"reason", kept.status().ToString()}});
      }
    }
    if (!kept.ok()) {
      *loaded = LoadedView();
      MLOPS_ASSIGN_OR_RETURN(kept, RunFull(view, &run, loaded.get()));
    }
    loaded->view = view;
    loaded->source_version_id = run.source_version_id;
    loaded->run_id = run.id;
    run.entities_written = static_cast<int64_t>(loaded->snapshot->num_entities());
    run.finished_at_micros = views_->NowMicros();
    MLOPS_RETURN_IF_ERROR(
        WriteOnline(run, *loaded, run.mode == RunMode::kIncremental ? &delta : nullptr));
    online_->Put(std::move(loaded));
    kept->base = IncrementalBase{run.source_version_id, source_rows, run.as_of_micros};
    kept->run_id = run.id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      kept_[{run.view, run.version}] = std::move(*kept);
      // Bounded: the states of the newest kMaxFollowedVersions versions of a view.
      auto first = kept_.lower_bound({run.view, 0});
      auto end = kept_.lower_bound({run.view + '\0', 0});
      while (static_cast<size_t>(std::distance(first, end)) > kMaxFollowedVersions) {
        first = kept_.erase(first);
      }
    }
    return absl::OkStatus();
  }();
  if (status.ok()) {
    run.state = RunState::kSucceeded;
    // Lag: from the source version's creation to the online store updated.
    const double lag = static_cast<double>(run.finished_at_micros -
                                           run.source_version_created_micros) / 1e6;
    if (metrics_ != nullptr) metrics_->MaterializationLag(run.view, lag);
    LogInfo("features_materialized",
            {{"view", run.view},
             {"version", std::to_string(run.version)},
             {"mode", run.mode == RunMode::kIncremental ? "INCREMENTAL" : "FULL"},
             {"rows_read", std::to_string(run.rows_read)},
             {"entities", std::to_string(run.entities_written)},
             {"seconds", std::to_string(static_cast<double>(run.finished_at_micros -
                                                            run.started_at_micros) / 1e6)},
             {"lag_seconds", std::to_string(lag)},
             {"trigger", run.trigger}});
    return run;
  }
  run.state = RunState::kFailed;
  run.error = status.ToString();
  run.finished_at_micros = views_->NowMicros();
  LogWarn("features_materialization_failed", {{"view", run.view}, {"error", run.error}});
  MLOPS_RETURN_IF_ERROR(store_->FailRun(run));
  return run;
}

absl::StatusOr<v1::GetMaterializationStatusResponse> Materializer::Status(
    const std::string& name, int64_t version) const {
  MLOPS_ASSIGN_OR_RETURN(ResolvedView newest, views_->Get(name, version));
  v1::GetMaterializationStatusResponse out;
  std::vector<int64_t> versions = {newest.definition.version};
  if (version == 0) {
    MLOPS_ASSIGN_OR_RETURN(std::vector<int64_t> materialized, store_->MaterializedVersions(name));
    for (int64_t v : materialized) {
      if (v != newest.definition.version) versions.push_back(v);
    }
  }
  for (int64_t v : versions) {
    ResolvedView rv = newest;
    if (v != newest.definition.version) {
      MLOPS_ASSIGN_OR_RETURN(rv, views_->Get(name, v));
    }
    MLOPS_ASSIGN_OR_RETURN(*out.add_statuses(), StatusOf(rv));
  }
  return out;
}

absl::StatusOr<v1::MaterializationStatus> Materializer::StatusOf(const ResolvedView& view) const {
  const FeatureViewDefinition& d = view.definition;
  v1::MaterializationStatus s;
  s.set_view(d.name);
  s.set_version(d.version);
  s.set_policy(view.view.spec().materialization());
  const int64_t now = views_->NowMicros();
  MLOPS_ASSIGN_OR_RETURN(std::optional<RunRecord> last, store_->LastRun(d.name, d.version));
  MLOPS_ASSIGN_OR_RETURN(std::optional<RunRecord> success, store_->LastSuccess(d.name, d.version));
  if (last.has_value()) RunToProto(*last, s.mutable_last_run());
  if (success.has_value()) {
    RunToProto(*success, s.mutable_last_success());
    s.set_staleness_micros(now - success->as_of_micros);
    s.set_entity_count(success->entities_written);
  }
  // Data lag: since the oldest source version not reflected yet.
  absl::StatusOr<std::vector<iv1::DatasetVersion>> versions =
      ingestion_->ListVersions(d.source_dataset, 1000);
  if (versions.ok() && !versions->empty()) {
    s.set_source_head_version_id(versions->front().id());
    int64_t oldest_unreflected = 0;
    for (const iv1::DatasetVersion& v : *versions) {
      if (success.has_value() && v.id() == success->source_version_id) break;
      oldest_unreflected = v.created_at_micros();
    }
    if (oldest_unreflected != 0) {
      s.set_data_lag_micros(success.has_value() ? now - oldest_unreflected
                                                : now - view.view.created_at_micros());
    }
  } else if (!versions.ok() && versions.status().code() != absl::StatusCode::kNotFound) {
    return versions.status();
  }
  std::shared_ptr<const OnlineCatalog> catalog = online_->Load();
  auto it = catalog->find(d.name);
  if (it != catalog->end()) {
    auto v = it->second.find(d.version);
    if (v != it->second.end()) {
      s.set_replica_as_of_micros(v->second->snapshot->as_of_micros());
      s.set_replica_source_dataset_version_id(v->second->source_version_id);
    }
  }
  return s;
}

absl::Status Materializer::LoadOnlineStore() {
  MLOPS_ASSIGN_OR_RETURN(std::vector<RunRecord> runs, store_->AllLastSuccesses());
  for (const RunRecord& run : runs) {
    if (online_->LoadedRun(run.view, run.version) == run.id) continue;
    MLOPS_ASSIGN_OR_RETURN(ResolvedView view, views_->Get(run.view, run.version));
    // The run and its rows in one snapshot: a run finished since the list
    // above is loaded whole instead.
    MLOPS_ASSIGN_OR_RETURN(std::optional<StoredOnline> stored,
                           store_->LoadOnline(run.view, run.version));
    if (!stored.has_value()) continue;
    MLOPS_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedView> loaded,
                           DecodeStoredOnline(view, *stored));
    online_->Put(std::move(loaded));
  }
  return absl::OkStatus();
}

void Materializer::Follow(const ResolvedView& view, bool registration) {
  const FeatureViewDefinition& d = view.definition;
  absl::StatusOr<std::optional<RunRecord>> last = store_->LastSuccess(d.name, d.version);
  absl::StatusOr<iv1::DatasetVersion> head = ingestion_->GetVersion(d.source_dataset, "");
  if (!last.ok() || !head.ok()) return;  // no version yet, or unreachable: next pass
  if (last->has_value() && (*last)->source_version_id == head->id()) return;
  MaterializeParams p;
  p.view = d.name;
  p.version = d.version;
  p.requested_mode = RunMode::kIncremental;  // FULL when it cannot be (Plan logs why)
  p.source_version_id = head->id();
  p.trigger = registration ? "registration" : absl::StrCat("new dataset version ", head->id());
  absl::StatusOr<RunRecord> run = Materialize(p);
  if (!run.ok() && run.status().code() != absl::StatusCode::kAborted) {
    LogWarn("features_watch_materialize_failed",
            {{"view", d.name}, {"status", run.status().ToString()}});
  }
}

void Materializer::WatchOnce() {
  absl::Status loaded = LoadOnlineStore();  // runs other replicas made
  if (!loaded.ok()) LogWarn("features_watch_load_failed", {{"status", loaded.ToString()}});
  v1::ListFeatureViewsRequest req;
  req.mutable_page()->set_page_size(1000);
  for (int page = 0; page < 1000; ++page) {
    absl::StatusOr<v1::ListFeatureViewsResponse> list = views_->List(req);
    if (!list.ok()) {
      LogWarn("features_watch_list_failed", {{"status", list.status().ToString()}});
      return;
    }
    for (const v1::FeatureView& newest : list->views()) {
      if (newest.spec().materialization() != v1::MATERIALIZATION_POLICY_AUTO) continue;
      absl::StatusOr<std::vector<int64_t>> done =
          store_->MaterializedVersions(newest.spec().name());
      if (!done.ok()) continue;
      std::vector<int64_t> follow = {newest.version()};
      for (int64_t v : *done) {
        if (v != newest.version() && follow.size() < kMaxFollowedVersions) follow.push_back(v);
      }
      for (int64_t v : follow) {
        absl::StatusOr<ResolvedView> rv = views_->Get(newest.spec().name(), v);
        if (rv.ok()) Follow(*rv, done->empty());
      }
    }
    if (list->next_page_token().empty()) break;
    req.mutable_page()->set_page_token(list->next_page_token());
  }
}

}  // namespace mlops::features
