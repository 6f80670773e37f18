#include "services/features/pg_feature_store.h"

#include <pqxx/pqxx>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/features/pg_online_rows.h"

namespace mlops::features {
namespace {

constexpr char kViewColumns[] =
    "SELECT name, version, definition_hash, source_dataset, created_at_micros, view_proto "
    "FROM feature_views ";
constexpr char kRunColumns[] =
    "SELECT id, view, version, state, requested_mode, mode, as_of_micros, source_version_id, "
    "source_version_created_micros, rows_read, entities_written, started_at_micros, "
    "finished_at_micros, error, trigger, principal FROM materialization_runs ";

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

ViewRecord ToView(const pqxx::row& r) {
  ViewRecord v;
  v.name = r[0].as<std::string>();
  v.version = r[1].as<int64_t>();
  v.definition_hash = r[2].as<std::string>();
  v.source_dataset = r[3].as<std::string>();
  v.created_at_micros = r[4].as<int64_t>();
  v.view_proto = Bytes(r[5]);
  return v;
}

RunRecord ToRun(const pqxx::row& r) {
  RunRecord run;
  run.id = r[0].as<int64_t>();
  run.view = r[1].as<std::string>();
  run.version = r[2].as<int64_t>();
  run.state = static_cast<RunState>(r[3].as<int>());
  run.requested_mode = static_cast<RunMode>(r[4].as<int>());
  run.mode = static_cast<RunMode>(r[5].as<int>());
  run.as_of_micros = r[6].as<int64_t>();
  run.source_version_id = r[7].as<std::string>();
  run.source_version_created_micros = r[8].as<int64_t>();
  run.rows_read = r[9].as<int64_t>();
  run.entities_written = r[10].as<int64_t>();
  run.started_at_micros = r[11].as<int64_t>();
  run.finished_at_micros = r[12].as<int64_t>();
  run.error = r[13].as<std::string>();
  run.trigger = r[14].as<std::string>();
  run.principal = r[15].as<std::string>();
  return run;
}

std::optional<RunRecord> FirstRun(const pqxx::result& r) {
  if (r.empty()) return std::nullopt;
  return ToRun(r[0]);
}

}  // namespace

absl::StatusOr<std::pair<ViewRecord, bool>> PgFeatureStore::PutViewVersion(
    const std::string& name, const std::string& definition_hash,
    const std::string& source_dataset, int64_t now_micros,
    const std::function<std::string(int64_t version)>& make_proto) {
  return pool_->WithTransaction(
      {"kPutViewVersion"},
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::pair<ViewRecord, bool>> {
        // One registration per name at a time: concurrent identical ones
        // create one version.
        tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('features.view:' || $1))", name);
        pqxx::result newest = tx.exec_params(
            absl::StrCat(kViewColumns, "WHERE name = $1 ORDER BY version DESC LIMIT 1"), name);
        int64_t version = 1;
        if (!newest.empty()) {
          ViewRecord current = ToView(newest[0]);
          if (current.definition_hash == definition_hash) {
            return std::make_pair(std::move(current), false);
          }
          version = current.version + 1;
        }
        ViewRecord v;
        v.name = name;
        v.version = version;
        v.definition_hash = definition_hash;
        v.source_dataset = source_dataset;
        v.created_at_micros = now_micros;
        v.view_proto = make_proto(version);
        tx.exec_params(
            "INSERT INTO feature_views (name, version, definition_hash, source_dataset, "
            "created_at_micros, view_proto) VALUES ($1, $2, $3, $4, $5, $6)",
            v.name, v.version, v.definition_hash, v.source_dataset, v.created_at_micros,
            pqxx::binarystring(v.view_proto));
        return std::make_pair(std::move(v), true);
      });
}

absl::StatusOr<ViewRecord> PgFeatureStore::GetView(const std::string& name, int64_t version) {
  return pool_->WithConnection(
      {"kGetView"}, [&](pqxx::connection_base& c) -> absl::StatusOr<ViewRecord> {
        pqxx::nontransaction tx(c);
        pqxx::result r =
            version == 0
                ? tx.exec_params(
                      absl::StrCat(kViewColumns, "WHERE name = $1 ORDER BY version DESC LIMIT 1"),
                      name)
                : tx.exec_params(absl::StrCat(kViewColumns, "WHERE name = $1 AND version = $2"),
                                 name, version);
        if (r.empty()) {
          return absl::NotFoundError(
              version == 0 ? absl::StrCat("feature view \"", name, "\" does not exist")
                           : absl::StrCat("feature view ", name, "@", version, " does not exist"));
        }
        return ToView(r[0]);
      });
}

absl::StatusOr<std::vector<ViewRecord>> PgFeatureStore::ListViews(const ListViewsQuery& q) {
  return pool_->WithConnection(
      {"kListViews"}, [&](pqxx::connection_base& c) -> absl::StatusOr<std::vector<ViewRecord>> {
        pqxx::nontransaction tx(c);
        // Prefix match without LIKE metacharacters: names are [a-z0-9_] but
        // '_' is a LIKE wildcard, so compare the leading substring instead.
        std::string sql = absl::StrCat(
            kViewColumns,
            "WHERE left(name, length($1)) = $1 AND ($2 = '' OR source_dataset = $2) "
            "AND (name, version) > ($3, $4) ");
        if (!q.all_versions) {
          sql += "AND version = (SELECT max(version) FROM feature_views f2 "
                 "WHERE f2.name = feature_views.name) ";
        }
        sql += "ORDER BY name, version LIMIT $5";
        pqxx::result r = tx.exec_params(sql, q.name_prefix, q.source_dataset, q.after_name,
                                        q.after_version, q.limit);
        std::vector<ViewRecord> out;
        out.reserve(r.size());
        for (const auto& row : r) out.push_back(ToView(row));
        return out;
      });
}

absl::StatusOr<int64_t> PgFeatureStore::StartRun(const RunRecord& run) {
  return pool_->WithTransaction({"kStartRun"}, [&](pqxx::transaction_base& tx) {
    return tx
        .exec_params1(
            "INSERT INTO materialization_runs (view, version, state, requested_mode, mode, "
            "as_of_micros, source_version_id, source_version_created_micros, started_at_micros, "
            "trigger, principal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "RETURNING id",
            run.view, run.version, static_cast<int>(RunState::kRunning),
            static_cast<int>(run.requested_mode), static_cast<int>(run.mode), run.as_of_micros,
            run.source_version_id, run.source_version_created_micros, run.started_at_micros,
            run.trigger, run.principal)[0]
        .as<int64_t>();
  });
}

namespace {

void UpdateRun(pqxx::transaction_base& tx, const RunRecord& run, RunState state) {
  tx.exec_params(
      "UPDATE materialization_runs SET state = $2, mode = $3, rows_read = $4, "
      "entities_written = $5, finished_at_micros = $6, error = $7, source_version_id = $8, "
      "source_version_created_micros = $9 WHERE id = $1",
      run.id, static_cast<int>(state), static_cast<int>(run.mode), run.rows_read,
      run.entities_written, run.finished_at_micros, run.error, run.source_version_id,
      run.source_version_created_micros);
}

}  // namespace

absl::Status PgFeatureStore::FinishRun(const RunRecord& run, const OnlineWrite& write) {
  return pool_->WithTransaction(
      {"kFinishRun", PgIsolation::kReadCommitted, false, absl::InfiniteDuration()},
      [&](pqxx::transaction_base& tx) -> absl::Status {
        // Runs of one view version finish one at a time (across replicas),
        // so an incremental write lands on the run it was computed from.
        tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('features.online:' || $1), "
                       "$2::int)",
                       run.view, static_cast<int32_t>(run.version));
        if (!write.replace_all) {
          pqxx::result newest = tx.exec_params(
              "SELECT max(id) FROM materialization_runs WHERE view = $1 AND version = $2 "
              "AND state = $3",
              run.view, run.version, static_cast<int>(RunState::kSucceeded));
          const int64_t id = newest[0][0].is_null() ? 0 : newest[0][0].as<int64_t>();
          if (id != write.base_run_id) {
            return absl::FailedPreconditionError(absl::StrCat(
                "the online store of ", run.view, "@", run.version, " moved to run ", id,
                " since run ", write.base_run_id));
          }
        }
        if (write.replace_all) {
          DeleteOnlineRows(tx, run.view, run.version);
          tx.exec_params(
              "DELETE FROM online_chunks WHERE run_id IN (SELECT id FROM materialization_runs "
              "WHERE view = $1 AND version = $2)",
              run.view, run.version);
          for (size_t i = 0; i < write.chunks.size(); ++i) {
            tx.exec_params(
                "INSERT INTO online_chunks (run_id, chunk_index, entity_count, chunk, statuses) "
                "VALUES ($1, $2, $3, $4, $5)",
                run.id, static_cast<int>(i), write.chunks[i].entity_count,
                pqxx::binarystring(write.chunks[i].chunk),
                pqxx::binarystring(write.chunks[i].statuses));
          }
        }
        UpsertOnlineRows(tx, run.view, run.version, run.id, write.rows);
        UpdateRun(tx, run, RunState::kSucceeded);
        return absl::OkStatus();
      });
}

absl::Status PgFeatureStore::FailRun(const RunRecord& run) {
  return pool_->WithTransaction({"kFailRun"}, [&](pqxx::transaction_base& tx) {
    UpdateRun(tx, run, RunState::kFailed);
  });
}

absl::StatusOr<std::optional<RunRecord>> PgFeatureStore::LastRun(const std::string& view,
                                                                 int64_t version) {
  return pool_->WithConnection({"kLastRun"}, [&](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    return FirstRun(tx.exec_params(
        absl::StrCat(kRunColumns, "WHERE view = $1 AND version = $2 ORDER BY id DESC LIMIT 1"),
        view, version));
  });
}

absl::StatusOr<std::optional<RunRecord>> PgFeatureStore::LastSuccess(const std::string& view,
                                                                     int64_t version) {
  return pool_->WithConnection({"kLastSuccess"}, [&](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    return FirstRun(tx.exec_params(
        absl::StrCat(kRunColumns,
                     "WHERE view = $1 AND version = $2 AND state = $3 ORDER BY id DESC LIMIT 1"),
        view, version, static_cast<int>(RunState::kSucceeded)));
  });
}

absl::StatusOr<std::vector<RunRecord>> PgFeatureStore::AllLastSuccesses() {
  return pool_->WithConnection({"kAllLastSuccesses"}, [&](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(
        absl::StrCat(kRunColumns,
                     "WHERE id IN (SELECT max(id) FROM materialization_runs WHERE state = $1 "
                     "GROUP BY view, version) ORDER BY view, version"),
        static_cast<int>(RunState::kSucceeded));
    std::vector<RunRecord> out;
    for (const auto& row : r) out.push_back(ToRun(row));
    return out;
  });
}

absl::StatusOr<std::vector<int64_t>> PgFeatureStore::MaterializedVersions(
    const std::string& view) {
  return pool_->WithConnection({"kMaterializedVersions"}, [&](pqxx::connection_base& c) {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(
        "SELECT DISTINCT version FROM materialization_runs WHERE view = $1 ORDER BY version DESC",
        view);
    std::vector<int64_t> out;
    for (const auto& row : r) out.push_back(row[0].as<int64_t>());
    return out;
  });
}

absl::StatusOr<std::optional<StoredOnline>> PgFeatureStore::LoadOnline(
    const std::string& view, int64_t version) {
  return pool_->WithTransaction(
      {"kLoadOnline", PgIsolation::kRepeatableRead, true, absl::InfiniteDuration()},
      [&](pqxx::transaction_base& tx) -> std::optional<StoredOnline> {
        std::optional<RunRecord> run = FirstRun(tx.exec_params(
            absl::StrCat(kRunColumns,
                         "WHERE view = $1 AND version = $2 AND state = $3 "
                         "ORDER BY id DESC LIMIT 1"),
            view, version, static_cast<int>(RunState::kSucceeded)));
        if (!run.has_value()) return std::nullopt;
        StoredOnline out;
        out.run = std::move(*run);
        pqxx::result r = tx.exec_params(
            "SELECT entity_count, chunk, statuses FROM online_chunks WHERE run_id IN "
            "(SELECT id FROM materialization_runs WHERE view = $1 AND version = $2) "
            "ORDER BY chunk_index",
            view, version);
        for (const auto& row : r) {
          out.chunks.push_back(OnlineChunk{row[0].as<int32_t>(), Bytes(row[1]), Bytes(row[2])});
        }
        out.rows = ReadOnlineRows(tx, view, version);
        return out;
      });
}

}  // namespace mlops::features
