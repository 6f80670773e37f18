#include "services/training/pg_tracking_store.h"

#include <algorithm>
#include <pqxx/pqxx>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/training/pg_tracking_internal.h"
#include "services/training/run_query.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

using pg_tracking_internal::ArtifactFromRow;
using pg_tracking_internal::kRunExists;
using pg_tracking_internal::kSelectArtifactsOf;
using pg_tracking_internal::AppendQuoted;
using pg_tracking_internal::LockRunShared;
using pg_tracking_internal::RunNotFound;

constexpr char kInsertExperiment[] =
    "INSERT INTO experiment (name, description, tag_keys, tag_values, principal, "
    "created_at_micros) VALUES ($1, $2, $3::text[], $4::text[], $5, $6)";
constexpr char kSelectExperiments[] =
    "SELECT e.name, e.description, e.tag_keys, e.tag_values, e.principal, e.created_at_micros, "
    "(SELECT count(*) FROM run r WHERE r.experiment = e.name) FROM experiment e "
    "WHERE e.name > $1 AND left(e.name, length($2)) = $2 ORDER BY e.name LIMIT $3";
constexpr char kSelectExperiment[] =
    "SELECT e.name, e.description, e.tag_keys, e.tag_values, e.principal, e.created_at_micros, "
    "(SELECT count(*) FROM run r WHERE r.experiment = e.name) FROM experiment e "
    "WHERE e.name = $1";
constexpr char kExperimentExists[] = "SELECT 1 FROM experiment WHERE name = $1 FOR SHARE";
constexpr char kInsertRun[] =
    "INSERT INTO run (run_id, experiment, name, status, principal, created_at_micros, "
    "start_time_micros, job_id, trial_index, attempt, in_dataset, in_dataset_version_id, "
    "in_feature_refs, in_feature_view_versions, in_source_keys, in_source_values, "
    "in_dataset_feature_columns, in_label_column, in_trainer, in_trainer_version, "
    "in_code_version, in_seed, split_kind, split_test_fraction, split_validation_fraction, "
    "split_seed, split_time_cutoff_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
    "$11, $12, $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18, $19, $20, "
    "$21, $22, $23, $24, $25, $26, $27)";
constexpr char kInsertParams[] =
    "INSERT INTO run_param (run_id, key, value) SELECT $1, k, v "
    "FROM unnest($2::text[], $3::text[]) AS u(k, v) ON CONFLICT (run_id, key) DO NOTHING";
constexpr char kUpsertTags[] =
    "INSERT INTO run_tag (run_id, key, value) SELECT $1, k, v "
    "FROM unnest($2::text[], $3::text[]) AS u(k, v) "
    "ON CONFLICT (run_id, key) DO UPDATE SET value = EXCLUDED.value";
constexpr char kDeleteTags[] = "DELETE FROM run_tag WHERE run_id = $1 AND key = ANY($2::text[])";
constexpr char kCountTags[] = "SELECT count(*) FROM run_tag WHERE run_id = $1";
constexpr char kCountParams[] = "SELECT count(*) FROM run_param WHERE run_id = $1";
constexpr char kSelectParamsByKey[] =
    "SELECT key, value FROM run_param WHERE run_id = $1 AND key = ANY($2::text[])";
constexpr char kLockRunShare[] = "SELECT status FROM run WHERE run_id = $1 FOR SHARE";
constexpr char kLockRunUpdate[] =
    "SELECT status, start_time_micros, end_time_micros, job_id, failure_reason FROM run "
    "WHERE run_id = $1 FOR UPDATE";
constexpr char kUpdateRunEnd[] =
    "UPDATE run SET status = $2, end_time_micros = $3, failure_reason = $4 WHERE run_id = $1";
constexpr char kSelectExperimentNames[] =
    "SELECT name FROM experiment WHERE name = ANY($1::text[])";
constexpr char kSelectRuns[] =
    "SELECT run_id, experiment, name, status, principal, created_at_micros, start_time_micros, "
    "end_time_micros, failure_reason, job_id, trial_index, attempt, in_dataset, "
    "in_dataset_version_id, in_feature_refs, in_feature_view_versions, in_source_keys, "
    "in_source_values, in_dataset_feature_columns, in_label_column, in_trainer, "
    "in_trainer_version, in_code_version, in_seed, split_kind, split_test_fraction, "
    "split_validation_fraction, split_seed, split_time_cutoff_micros FROM run "
    "WHERE run_id = ANY($1::text[])";
constexpr char kSelectParamsOf[] =
    "SELECT run_id, key, value FROM run_param WHERE run_id = ANY($1::text[])";
constexpr char kSelectTagsOf[] =
    "SELECT run_id, key, value FROM run_tag WHERE run_id = ANY($1::text[])";
constexpr char kSelectLatestOf[] =
    "SELECT run_id, key, value, step, timestamp_micros, min_value, max_value, count "
    "FROM run_latest_metric WHERE run_id = ANY($1::text[]) ORDER BY run_id, key";

std::vector<std::string> ParseTextArray(const pqxx::field& field) {
  std::vector<std::string> out;
  pqxx::array_parser parser = field.as_array();
  for (int guard = 0; guard < 1000000; ++guard) {
    auto [juncture, value] = parser.get_next();
    if (juncture == pqxx::array_parser::done) break;
    if (juncture == pqxx::array_parser::string_value) out.push_back(std::move(value));
  }
  return out;
}

template <class M>
std::pair<std::string, std::string> MapArrays(const M& kv) {
  std::vector<std::string> keys, values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k);
    values.push_back(v);
  }
  return {PgTextArray(keys), PgTextArray(values)};
}

std::map<std::string, std::string> ZipMap(const pqxx::field& keys, const pqxx::field& values) {
  std::vector<std::string> k = ParseTextArray(keys), v = ParseTextArray(values);
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < k.size() && i < v.size(); ++i) out[k[i]] = v[i];
  return out;
}

Experiment ExperimentFromRow(const pqxx::row& row) {
  Experiment e;
  e.name = row[0].as<std::string>();
  e.description = row[1].as<std::string>();
  e.tags = ZipMap(row[2], row[3]);
  e.principal = row[4].as<std::string>();
  e.created_at_micros = row[5].as<int64_t>();
  e.run_count = row[6].as<int64_t>();
  return e;
}



// Loads full runs in the order of ids (missing ones are skipped).
std::vector<Run> LoadRuns(pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
  std::string arr = PgTextArray(ids);
  std::unordered_map<std::string, Run> by_id;
  for (const pqxx::row& row : tx.exec_params(kSelectRuns, arr)) {
    Run r;
    r.id = row[0].as<std::string>();
    r.experiment = row[1].as<std::string>();
    r.name = row[2].as<std::string>();
    r.status = static_cast<RunStatus>(row[3].as<int>());
    r.principal = row[4].as<std::string>();
    r.created_at_micros = row[5].as<int64_t>();
    r.start_time_micros = row[6].as<int64_t>();
    r.end_time_micros = row[7].as<int64_t>();
    r.failure_reason = row[8].as<std::string>();
    r.job_id = row[9].as<std::string>();
    r.trial_index = row[10].as<int32_t>();
    r.attempt = row[11].as<int32_t>();
    RunInputs& in = r.inputs;
    in.dataset = row[12].as<std::string>();
    in.dataset_version_id = row[13].as<std::string>();
    in.feature_refs = ParseTextArray(row[14]);
    in.feature_view_versions = ParseTextArray(row[15]);
    in.source_dataset_versions = ZipMap(row[16], row[17]);
    in.dataset_feature_columns = ParseTextArray(row[18]);
    in.label_column = row[19].as<std::string>();
    in.trainer = row[20].as<std::string>();
    in.trainer_version = row[21].as<std::string>();
    in.code_version = row[22].as<std::string>();
    in.seed = row[23].as<int64_t>();
    in.split.kind = row[24].as<int>();
    in.split.test_fraction = row[25].as<double>();
    in.split.validation_fraction = row[26].as<double>();
    in.split.seed = row[27].as<int64_t>();
    in.split.time_cutoff_micros = row[28].as<int64_t>();
    by_id.emplace(r.id, std::move(r));
  }
  for (const pqxx::row& row : tx.exec_params(kSelectParamsOf, arr)) {
    by_id[row[0].as<std::string>()].params[row[1].as<std::string>()] = row[2].as<std::string>();
  }
  for (const pqxx::row& row : tx.exec_params(kSelectTagsOf, arr)) {
    by_id[row[0].as<std::string>()].tags[row[1].as<std::string>()] = row[2].as<std::string>();
  }
  for (const pqxx::row& row : tx.exec_params(kSelectLatestOf, arr)) {
    MetricSummary m;
    m.key = row[1].as<std::string>();
    m.value = row[2].as<double>();
    m.step = row[3].as<int64_t>();
    m.timestamp_micros = row[4].as<int64_t>();
    m.min = row[5].as<double>();
    m.max = row[6].as<double>();
    m.count = row[7].as<int64_t>();
    by_id[row[0].as<std::string>()].metrics.push_back(std::move(m));
  }
  for (const pqxx::row& row : tx.exec_params(kSelectArtifactsOf, arr)) {
    ArtifactRef a = ArtifactFromRow(row);
    by_id[a.run_id].artifacts.push_back(std::move(a));
  }
  std::vector<Run> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto it = by_id.find(id);
    if (it != by_id.end() && !it->second.id.empty()) out.push_back(std::move(it->second));
  }
  return out;
}


}  // namespace

namespace pg_tracking_internal {

ArtifactRef ArtifactFromRow(const pqxx::row& row) {
  ArtifactRef a;
  a.run_id = row[0].as<std::string>();
  a.path = row[1].as<std::string>();
  a.sha256 = row[2].as<std::string>();
  a.size_bytes = row[3].as<int64_t>();
  a.content_type = row[4].as<std::string>();
  a.created_at_micros = row[5].as<int64_t>();
  return a;
}
void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

absl::Status RunNotFound(const std::string& run_id) {
  return absl::NotFoundError(absl::StrCat("run ", run_id, " not found"));
}

// Locks the run (FOR SHARE); NotFound, or FailedPrecondition when it has
// ended (or is not RUNNING, with need_running).
absl::Status LockRunShared(pqxx::transaction_base& tx, const std::string& run_id,
                           bool need_running) {
  pqxx::result r = tx.exec_params(kLockRunShare, run_id);
  if (r.empty()) return RunNotFound(run_id);
  auto status = static_cast<RunStatus>(r[0][0].as<int>());
  if (need_running && status != RunStatus::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " is not RUNNING (status ",
                                                      static_cast<int>(status), ")"));
  }
  if (IsTerminal(status)) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " has ended"));
  }
  return absl::OkStatus();
}

}  // namespace pg_tracking_internal

std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    AppendQuoted(&out, values[i]);
  }
  out.push_back('}');
  return out;
}

absl::Status PgTrackingStore::CreateExperiment(const Experiment& e) {
  auto [keys, values] = MapArrays(e.tags);
  return pool_->WithTransaction({"kInsertExperiment"}, [&](pqxx::transaction_base& tx) {
    tx.exec_params(kInsertExperiment, e.name, e.description, keys, values, e.principal,
                   e.created_at_micros);
  });
}

absl::StatusOr<Experiment> PgTrackingStore::GetExperiment(const std::string& name) {
  return pool_->WithTransaction(
      {"kSelectExperiment", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<Experiment> {
        pqxx::result r = tx.exec_params(kSelectExperiment, name);
        if (r.empty()) return absl::NotFoundError(absl::StrCat("experiment \"", name, "\" not found"));
        return ExperimentFromRow(r[0]);
      });
}

absl::StatusOr<std::vector<Experiment>> PgTrackingStore::ListExperiments(
    const std::string& prefix, const std::string& after_name, int limit) {
  return pool_->WithTransaction(
      {"kSelectExperiments", PgIsolation::kReadCommitted, true},
      [&](pqxx::transaction_base& tx) {
        std::vector<Experiment> out;
        for (const pqxx::row& row : tx.exec_params(kSelectExperiments, after_name, prefix, limit)) {
          out.push_back(ExperimentFromRow(row));
        }
        return out;
      });
}

absl::Status PgTrackingStore::CreateRun(const Run& run) {
  auto [pkeys, pvalues] = MapArrays(run.params);
  auto [tkeys, tvalues] = MapArrays(run.tags);
  auto [skeys, svalues] = MapArrays(run.inputs.source_dataset_versions);
  const RunInputs& in = run.inputs;
  return pool_->WithTransaction({"kInsertRun"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    if (tx.exec_params(kExperimentExists, run.experiment).empty()) {
      return absl::NotFoundError(absl::StrCat("experiment \"", run.experiment, "\" not found"));
    }
    tx.exec_params(kInsertRun, run.id, run.experiment, run.name, static_cast<int>(run.status),
                   run.principal, run.created_at_micros, run.start_time_micros, run.job_id,
                   run.trial_index, run.attempt, in.dataset, in.dataset_version_id,
                   PgTextArray(in.feature_refs), PgTextArray(in.feature_view_versions), skeys,
                   svalues, PgTextArray(in.dataset_feature_columns), in.label_column, in.trainer,
                   in.trainer_version, in.code_version, in.seed, in.split.kind,
                   in.split.test_fraction, in.split.validation_fraction, in.split.seed,
                   in.split.time_cutoff_micros);
    if (!run.params.empty()) tx.exec_params(kInsertParams, run.id, pkeys, pvalues);
    if (!run.tags.empty()) tx.exec_params(kUpsertTags, run.id, tkeys, tvalues);
    return absl::OkStatus();
  });
}

absl::StatusOr<Run> PgTrackingStore::GetRun(const std::string& run_id) {
  return pool_->WithTransaction(
      {"kSelectRuns", PgIsolation::kRepeatableRead, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<Run> {
        std::vector<Run> runs = LoadRuns(tx, {run_id});
        if (runs.empty()) return RunNotFound(run_id);
        return std::move(runs[0]);
      });
}

absl::Status PgTrackingStore::LogParams(const std::string& run_id,
                                        const std::map<std::string, std::string>& params,
                                        int max_params) {
  auto [keys, values] = MapArrays(params);
  return pool_->WithTransaction({"kInsertParams"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    pqxx::result head = tx.exec_params(kLockRunUpdate, run_id);
    if (head.empty()) return RunNotFound(run_id);
    if (IsTerminal(static_cast<RunStatus>(head[0][0].as<int>()))) {
      return absl::FailedPreconditionError(absl::StrCat("run ", run_id, " has ended"));
    }
    int64_t existing_matches = 0;
    for (const pqxx::row& row : tx.exec_params(kSelectParamsByKey, run_id, keys)) {
      std::string key = row[0].as<std::string>();
      if (row[1].as<std::string>() != params.at(key)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "param \"", key, "\" already holds another value (params are immutable)"));
      }
      ++existing_matches;
    }
    int64_t count = tx.exec_params1(kCountParams, run_id)[0].as<int64_t>();
    int64_t total = count + static_cast<int64_t>(params.size()) - existing_matches;
    if (total > max_params) {
      return absl::InvalidArgumentError(
          absl::StrCat("params: the run would have ", total, ", at most ", max_params, " allowed"));
    }
    if (!params.empty()) tx.exec_params(kInsertParams, run_id, keys, values);
    return absl::OkStatus();
  });
}

absl::Status PgTrackingStore::SetTags(const std::string& run_id,
                                      const std::map<std::string, std::string>& set,
                                      const std::vector<std::string>& remove, int max_tags) {
  auto [keys, values] = MapArrays(set);
  std::string removed = PgTextArray(remove);
  return pool_->WithTransaction({"kUpsertTags"}, [&](pqxx::transaction_base& tx) -> absl::Status {
    if (tx.exec_params(kLockRunUpdate, run_id).empty()) return RunNotFound(run_id);
    if (!remove.empty()) tx.exec_params(kDeleteTags, run_id, removed);
    if (!set.empty()) tx.exec_params(kUpsertTags, run_id, keys, values);
    int64_t count = tx.exec_params1(kCountTags, run_id)[0].as<int64_t>();
    if (count > max_tags) {
      return absl::InvalidArgumentError(
          absl::StrCat("tags: the run would have ", count, ", at most ", max_tags, " allowed"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<Run> PgTrackingStore::TransitionRun(const std::string& run_id,
                                                   const DecideFn& decide) {
  return pool_->WithTransaction(
      {"kUpdateRunEnd"}, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Run> {
        pqxx::result r = tx.exec_params(kLockRunUpdate, run_id);
        if (r.empty()) return RunNotFound(run_id);
        RunHead head;
        head.id = run_id;
        head.status = static_cast<RunStatus>(r[0][0].as<int>());
        head.start_time_micros = r[0][1].as<int64_t>();
        head.end_time_micros = r[0][2].as<int64_t>();
        head.job_id = r[0][3].as<std::string>();
        head.failure_reason = r[0][4].as<std::string>();
        MLOPS_ASSIGN_OR_RETURN(std::optional<RunEnd> change, decide(head));
        if (change) {
          tx.exec_params(kUpdateRunEnd, run_id, static_cast<int>(change->status),
                         change->end_time_micros, change->failure_reason);
        }
        std::vector<Run> runs = LoadRuns(tx, {run_id});
        if (runs.empty()) return RunNotFound(run_id);
        return std::move(runs[0]);
      });
}

absl::StatusOr<RunPage> PgTrackingStore::ListRuns(const RunFilter& filter,
                                                  const std::optional<RunCursor>& after,
                                                  int limit) {
  return pool_->WithTransaction(
      {"kListRuns", PgIsolation::kRepeatableRead, true},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<RunPage> {
        if (!filter.experiments.empty()) {
          std::set<std::string> known;
          for (const pqxx::row& row :
               tx.exec_params(kSelectExperimentNames, PgTextArray(filter.experiments))) {
            known.insert(row[0].as<std::string>());
          }
          for (const std::string& e : filter.experiments) {
            if (known.count(e) == 0) {
              return absl::NotFoundError(absl::StrCat("experiment \"", e, "\" not found"));
            }
          }
        }
        // Collect limit + 1 (id, cursor) rows over the phases, then load.
        std::vector<std::pair<std::string, RunCursor>> hits;
        int first_phase = filter.order_metric.empty() ? 1 : (after ? after->phase : 0);
        int last_phase = filter.order_metric.empty() || NeedsPhaseWithoutMetric(filter) ? 1 : 0;
        for (int phase = first_phase; phase <= last_phase && static_cast<int>(hits.size()) <= limit;
             ++phase) {
          RunQuery q = BuildRunListQuery(filter, after, phase,
                                         limit + 1 - static_cast<int>(hits.size()));
          pqxx::result rows = tx.exec_params(q.sql, pqxx::prepare::make_dynamic_params(q.params));
          for (const pqxx::row& row : rows) {
            RunCursor c{phase, row[1].as<double>(), row[2].as<int64_t>(), row[0].as<std::string>()};
            hits.emplace_back(c.run_id, c);
          }
        }
        RunPage page;
        if (static_cast<int>(hits.size()) > limit) {
          hits.resize(limit);
          page.next = hits.back().second;
        }
        std::vector<std::string> ids;
        ids.reserve(hits.size());
        for (const auto& h : hits) ids.push_back(h.first);
        page.runs = LoadRuns(tx, ids);
        return page;
      });
}

}  // namespace mlops::training
