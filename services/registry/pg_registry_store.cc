#include "services/registry/pg_registry_store.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/registry/pg_registry_internal.h"

namespace mlops::registry {
namespace {

using Txn = pqxx::transaction_base;

// ---- SQL ----
constexpr char kInsertModel[] =
    "INSERT INTO models (name, description, owner, created_at_micros, created_by) "
    "VALUES ($1, $2, $3, $4, $5)";
constexpr char kInsertModelTag[] =
    "INSERT INTO model_tags (model, ordinal, key, value) VALUES ($1, $2, $3, $4)";
constexpr char kSelectModel[] =
    "SELECT name, description, owner, created_at_micros, created_by, latest_version, "
    "production_version, generation FROM models WHERE name = $1";
constexpr char kListModels[] =
    "SELECT name FROM models WHERE name > $1 AND left(name, length($2)) = $2";
constexpr char kSelectModelTags[] =
    "SELECT key, value FROM model_tags WHERE model = $1 ORDER BY ordinal";
constexpr char kSelectStagingVersions[] =
    "SELECT version FROM versions WHERE model = $1 AND stage = 2 ORDER BY version";
constexpr char kSelectModelAliases[] =
    "SELECT name, version, updated_at_micros, updated_by FROM aliases WHERE model = $1 "
    "ORDER BY name";
constexpr char kBumpLatest[] =
    "UPDATE models SET latest_version = latest_version + 1 WHERE name = $1 "
    "RETURNING latest_version";
constexpr char kInsertVersion[] =
    "INSERT INTO versions (model, version, stage, stage_changed_at_micros, artifact_sha256, "
    "artifact_size, run_id, training_dataset_version, metadata, created_at_micros, created_by) "
    "VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $3, $9)";
constexpr char kInsertVersionTag[] =
    "INSERT INTO version_tags (model, version, ordinal, key, value) VALUES ($1, $2, $3, $4, $5)";
constexpr char kInsertEvaluation[] =
    "INSERT INTO evaluations (model, version, ordinal, name, dataset_version, "
    "recorded_at_micros) VALUES ($1, $2, $3, $4, $5, $6)";
constexpr char kInsertMetric[] =
    "INSERT INTO evaluation_metrics (model, version, ordinal, metric, value) "
    "VALUES ($1, $2, $3, $4, $5)";
constexpr char kWhereVersion[] = "WHERE v.model = $1 AND v.version = $2";
constexpr char kWhereStage[] =
    "WHERE v.model = $1 AND v.stage = $2 ORDER BY v.version DESC LIMIT 1";
constexpr char kSelectTagsOf[] =
    "SELECT model, version, key, value FROM version_tags "
    "WHERE (model, version) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) "
    "ORDER BY model, version, ordinal";
constexpr char kSelectEvaluationsOf[] =
    "SELECT e.model, e.version, e.ordinal, e.name, e.dataset_version, e.recorded_at_micros, "
    "m.metric, m.value FROM evaluations e LEFT JOIN evaluation_metrics m USING "
    "(model, version, ordinal) "
    "WHERE (e.model, e.version) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) "
    "ORDER BY e.model, e.version, e.ordinal, m.metric";
constexpr char kSelectAliasesOf[] =
    "SELECT model, version, name FROM aliases "
    "WHERE (model, version) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) "
    "ORDER BY model, version, name";
constexpr char kLockAuditHead[] =
    "SELECT sequence, entry_hash FROM audit_head WHERE id = 1 FOR UPDATE";
constexpr char kUpdateAuditHead[] =
    "UPDATE audit_head SET sequence = $1, entry_hash = $2 WHERE id = 1";
constexpr char kInsertAudit[] =
    "INSERT INTO audit_log (sequence, at_micros, principal, event_type, model, version, "
    "endpoint, request_id, before_json, after_json, reason, details_json, prev_hash, "
    "entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
// Stage-change entries (event 6, TRANSITION_GRANTED) carry {"stage":"..."}.


}  // namespace

namespace pg_registry {

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

AuditEntry AppendAudit(Txn& txn, AuditEntry e) {
  pqxx::result head = txn.exec_params(kLockAuditHead);
  e.sequence = head[0][0].as<int64_t>() + 1;
  e.prev_hash = head[0][1].as<std::string>();
  e.entry_hash = ComputeAuditHash(e);
  txn.exec_params(kInsertAudit, e.sequence, e.at_micros, e.principal, e.event_type, e.model,
                  e.version, e.endpoint, e.request_id, e.before_json, e.after_json, e.reason,
                  e.details_json, e.prev_hash, e.entry_hash);
  txn.exec_params(kUpdateAuditHead, e.sequence, e.entry_hash);
  return e;
}

// A Postgres array literal of quoted text elements.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

VersionRecord VersionFromRow(const pqxx::row& r) {
  VersionRecord v;
  v.model = r[0].as<std::string>();
  v.version = r[1].as<int64_t>();
  v.stage = static_cast<Stage>(r[2].as<int>());
  v.stage_changed_at_micros = r[3].as<int64_t>();
  v.artifact_sha256 = r[4].as<std::string>();
  v.artifact_size = r[5].as<int64_t>();
  v.run_id = r[6].as<std::string>();
  v.training_dataset_version = r[7].as<std::string>();
  v.metadata = Bytes(r[8]);
  v.created_at_micros = r[9].as<int64_t>();
  v.created_by = r[10].as<std::string>();
  return v;
}

// Loads tags, evaluations and aliases of `versions` (three queries).
void LoadDetails(Txn& txn, std::vector<VersionRecord>& versions) {
  if (versions.empty()) return;
  std::vector<std::string> models;
  std::vector<int64_t> numbers;
  std::map<std::pair<std::string, int64_t>, VersionRecord*> by_key;
  for (VersionRecord& v : versions) {
    models.push_back(v.model);
    numbers.push_back(v.version);
    by_key[{v.model, v.version}] = &v;
  }
  const std::string m = TextArray(models);
  const std::string n = NumArray(numbers);
  for (const pqxx::row& r : txn.exec_params(kSelectTagsOf, m, n)) {
    by_key[{r[0].as<std::string>(), r[1].as<int64_t>()}]->tags.emplace_back(
        r[2].as<std::string>(), r[3].as<std::string>());
  }
  int last_ordinal = -1;
  VersionRecord* last = nullptr;
  for (const pqxx::row& r : txn.exec_params(kSelectEvaluationsOf, m, n)) {
    VersionRecord* v = by_key[{r[0].as<std::string>(), r[1].as<int64_t>()}];
    int ordinal = r[2].as<int>();
    if (v != last || ordinal != last_ordinal) {
      EvaluationRecord e;
      e.name = r[3].as<std::string>();
      e.dataset_version = r[4].as<std::string>();
      e.recorded_at_micros = r[5].as<int64_t>();
      v->evaluations.push_back(std::move(e));
      last = v;
      last_ordinal = ordinal;
    }
    if (!r[6].is_null()) v->evaluations.back().metrics[r[6].as<std::string>()] = r[7].as<double>();
  }
  for (const pqxx::row& r : txn.exec_params(kSelectAliasesOf, m, n)) {
    by_key[{r[0].as<std::string>(), r[1].as<int64_t>()}]->aliases.push_back(
        r[2].as<std::string>());
  }
}

}  // namespace pg_registry

namespace {
using pg_registry::AppendAudit;
using pg_registry::LoadModel;
using pg_registry::LoadVersion;
using pg_registry::Bytes;
using pg_registry::kVersionColumns;
using pg_registry::LoadDetails;
using pg_registry::NumArray;
using pg_registry::TextArray;
using pg_registry::VersionFromRow;
}  // namespace

absl::StatusOr<ModelRecord> pg_registry::LoadModel(Txn& txn, const std::string& name) {
  pqxx::result r = txn.exec_params(kSelectModel, name);
  if (r.empty()) return absl::NotFoundError(absl::StrCat("model \"", name, "\" not found"));
  ModelRecord m;
  m.name = r[0][0].as<std::string>();
  m.description = r[0][1].as<std::string>();
  m.owner = r[0][2].as<std::string>();
  m.created_at_micros = r[0][3].as<int64_t>();
  m.created_by = r[0][4].as<std::string>();
  m.latest_version = r[0][5].as<int64_t>();
  m.production_version = r[0][6].as<int64_t>();
  m.generation = r[0][7].as<int64_t>();
  m.version_count = m.latest_version;
  for (const pqxx::row& t : txn.exec_params(kSelectModelTags, name)) {
    m.tags.emplace_back(t[0].as<std::string>(), t[1].as<std::string>());
  }
  for (const pqxx::row& t : txn.exec_params(kSelectStagingVersions, name)) {
    m.staging_versions.push_back(t[0].as<int64_t>());
  }
  for (const pqxx::row& t : txn.exec_params(kSelectModelAliases, name)) {
    AliasRecord a;
    a.model = name;
    a.name = t[0].as<std::string>();
    a.version = t[1].as<int64_t>();
    a.updated_at_micros = t[2].as<int64_t>();
    a.updated_by = t[3].as<std::string>();
    m.aliases.push_back(std::move(a));
  }
  return m;
}

absl::StatusOr<VersionRecord> pg_registry::LoadVersion(Txn& txn, const std::string& model,
                                                      int64_t version) {
  pqxx::result r = txn.exec_params(absl::StrCat(kVersionColumns, kWhereVersion), model, version);
  if (r.empty()) {
    if (txn.exec_params(kSelectModel, model).empty()) {
      return absl::NotFoundError(absl::StrCat("model \"", model, "\" not found"));
    }
    return absl::NotFoundError(absl::StrCat("model \"", model, "\" version ", version,
                                            " not found"));
  }
  std::vector<VersionRecord> out = {VersionFromRow(r[0])};
  LoadDetails(txn, out);
  return out[0];
}


absl::StatusOr<ModelRecord> PgRegistryStore::CreateModel(const ModelRecord& model,
                                                         AuditEntry audit) {
  absl::StatusOr<ModelRecord> out =
      pool_->WithTransaction(PgCallOptions{"registry_create_model"}, [&](Txn& txn) {
        txn.exec_params(kInsertModel, model.name, model.description, model.owner,
                        model.created_at_micros, model.created_by);
        for (size_t i = 0; i < model.tags.size(); ++i) {
          txn.exec_params(kInsertModelTag, model.name, static_cast<int>(i), model.tags[i].first,
                          model.tags[i].second);
        }
        AppendAudit(txn, audit);
        return LoadModel(txn, model.name);
      });
  if (absl::IsAlreadyExists(out.status())) {
    return absl::AlreadyExistsError(absl::StrCat("model \"", model.name, "\" already exists"));
  }
  return out;
}

absl::StatusOr<ModelRecord> PgRegistryStore::GetModel(const std::string& name) {
  PgCallOptions call{"registry_get_model"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) { return LoadModel(txn, name); });
}

absl::StatusOr<std::vector<ModelRecord>> PgRegistryStore::ListModels(
    const std::string& prefix, const std::string& after_name, int limit, const Tags& tags) {
  PgCallOptions call{"registry_list_models"};
  call.read_only = true;
  return pool_->WithTransaction(
      call, [&](Txn& txn) -> absl::StatusOr<std::vector<ModelRecord>> {
        std::vector<ModelRecord> out;
        // Tags as quoted literals, one EXISTS each (see pg_registry_list.cc).
        std::string sql = kListModels;
        for (const auto& [key, value] : tags) {
          absl::StrAppend(&sql, " AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model = name "
                                "AND t.key = ", txn.quote(key), " AND t.value = ",
                          txn.quote(value), ")");
        }
        absl::StrAppend(&sql, " ORDER BY name LIMIT $3");
        for (const pqxx::row& r : txn.exec_params(sql, after_name, prefix, limit)) {
          MLOPS_ASSIGN_OR_RETURN(ModelRecord m, LoadModel(txn, r[0].as<std::string>()));
          out.push_back(std::move(m));
        }
        return out;
      });
}

absl::StatusOr<VersionRecord> PgRegistryStore::RegisterVersion(const NewVersion& nv,
                                                               AuditEntry audit) {
  const VersionRecord& v = nv.record;
  return pool_->WithTransaction(
      PgCallOptions{"registry_register_version"}, [&](Txn& txn) -> absl::StatusOr<VersionRecord> {
        if (txn.exec_params(kSelectModel, v.model).empty()) {
          if (!nv.create_model_if_missing) {
            return absl::NotFoundError(absl::StrCat("model \"", v.model, "\" not found"));
          }
          txn.exec_params(kInsertModel, v.model, "", "", v.created_at_micros, v.created_by);
          AuditEntry created = audit;
          created.event_type = 1;  // MODEL_CREATED
          created.version = 0;
          created.after_json = absl::StrCat("{\"model\":", JsonQuote(v.model), "}");
          AppendAudit(txn, created);
        }
        const int64_t number = txn.exec_params(kBumpLatest, v.model)[0][0].as<int64_t>();
        txn.exec_params(kInsertVersion, v.model, number, v.created_at_micros, v.artifact_sha256,
                        v.artifact_size, v.run_id, v.training_dataset_version,
                        pqxx::binarystring(v.metadata.data(), v.metadata.size()), v.created_by);
        for (size_t i = 0; i < v.tags.size(); ++i) {
          txn.exec_params(kInsertVersionTag, v.model, number, static_cast<int>(i),
                          v.tags[i].first, v.tags[i].second);
        }
        for (size_t i = 0; i < v.evaluations.size(); ++i) {
          const EvaluationRecord& e = v.evaluations[i];
          txn.exec_params(kInsertEvaluation, v.model, number, static_cast<int>(i), e.name,
                          e.dataset_version, v.created_at_micros);
          for (const auto& [metric, value] : e.metrics) {
            txn.exec_params(kInsertMetric, v.model, number, static_cast<int>(i), metric, value);
          }
        }
        audit.version = number;
        audit.after_json = absl::StrCat("{\"version\":", number, ",\"artifact_sha256\":\"",
                                        v.artifact_sha256, "\",\"stage\":\"NONE\"}");
        AppendAudit(txn, audit);
        return LoadVersion(txn, v.model, number);
      });
}

absl::StatusOr<VersionRecord> PgRegistryStore::GetVersion(const std::string& model,
                                                          int64_t version) {
  PgCallOptions call{"registry_get_version"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) { return LoadVersion(txn, model, version); });
}

absl::StatusOr<VersionRecord> PgRegistryStore::GetVersionInStage(const std::string& model,
                                                                 Stage stage) {
  PgCallOptions call{"registry_get_version_in_stage"};
  call.read_only = true;
  return pool_->WithTransaction(call, [&](Txn& txn) -> absl::StatusOr<VersionRecord> {
    pqxx::result r = txn.exec_params(absl::StrCat(kVersionColumns, kWhereStage), model,
                                     static_cast<int>(stage));
    if (r.empty()) {
      MLOPS_RETURN_IF_ERROR(LoadModel(txn, model).status());
      return absl::NotFoundError(
          absl::StrCat("model \"", model, "\" has no version in stage ", StageName(stage)));
    }
    std::vector<VersionRecord> out = {VersionFromRow(r[0])};
    LoadDetails(txn, out);
    return out[0];
  });
}

absl::Status PgRegistryStore::RecordAudit(AuditEntry audit) {
  return pool_->WithTransaction(PgCallOptions{"registry_record_audit"},
                                [&](Txn& txn) -> absl::Status {
                                  AppendAudit(txn, std::move(audit));
                                  return absl::OkStatus();
                                });
}

}  // namespace mlops::registry
