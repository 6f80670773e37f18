#include "services/training/job_spec.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/training/tracking.h"

namespace mlops::training {
namespace {

const std::set<std::string>& ReservedParams() {
  static const auto* reserved =
      new std::set<std::string>{"booster", "objective", "seed", "num_class", "nthread"};
  return *reserved;
}

absl::Status CheckRounds(const std::string& field, const std::string& value) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < 1 || n > kMaxBoostRounds) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", value, "\": num_boost_round must be an integer in [1, 100000]"));
  }
  return absl::OkStatus();
}

std::vector<ParamRange> Ranges(const v1::SearchSpec& search) {
  std::vector<ParamRange> out;
  for (const v1::ParameterRange& p : search.parameters()) {
    ParamRange r;
    r.name = p.name();
    switch (p.range_case()) {
      case v1::ParameterRange::kIntRange:
        r.kind = ParamRange::Kind::kInt;
        r.int_min = p.int_range().min();
        r.int_max = p.int_range().max();
        r.int_step = p.int_range().step();
        break;
      case v1::ParameterRange::kFloatRange:
        r.kind = ParamRange::Kind::kFloat;
        r.float_min = p.float_range().min();
        r.float_max = p.float_range().max();
        r.log_scale = p.float_range().scale() == v1::SCALE_LOG;
        r.grid_points = p.float_range().grid_points();
        break;
      case v1::ParameterRange::kCategorical:
        r.kind = ParamRange::Kind::kCategorical;
        r.values.assign(p.categorical().values().begin(), p.categorical().values().end());
        break;
      case v1::ParameterRange::RANGE_NOT_SET:
        r.kind = ParamRange::Kind::kCategorical;  // no values: rejected by ValidateRanges
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status ValidateSearch(const v1::TrainingJobSpec& spec) {
  const v1::SearchSpec& s = spec.search();
  if (s.algorithm() != v1::SEARCH_ALGORITHM_GRID && s.algorithm() != v1::SEARCH_ALGORITHM_RANDOM) {
    return absl::InvalidArgumentError("search.algorithm: GRID or RANDOM required");
  }
  for (int i = 0; i < s.parameters_size(); ++i) {
    const v1::ParameterRange& p = s.parameters(i);
    const std::string field = absl::StrCat("search.parameters[", i, "]");
    if (p.range_case() == v1::ParameterRange::RANGE_NOT_SET) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": one range required"));
    }
    if (ReservedParams().count(p.name())) {
      return absl::InvalidArgumentError(absl::StrCat(field, " \"", p.name(), "\": reserved, set by the service"));
    }
    if (spec.hyperparameters().count(p.name())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " \"", p.name(), "\": both fixed in hyperparameters and searched"));
    }
  }
  MLOPS_RETURN_IF_ERROR(ValidateRanges(Ranges(s)));
  if (s.algorithm() == v1::SEARCH_ALGORITHM_RANDOM && (s.max_trials() < 1 || s.max_trials() > kMaxTrials)) {
    return absl::InvalidArgumentError("search.max_trials: RANDOM needs 1 to 10000");
  }
  if (s.max_trials() < 0 || s.max_trials() > kMaxTrials) {
    return absl::InvalidArgumentError("search.max_trials: must be in [0, 10000]");
  }
  if (s.parallelism() < 0) return absl::InvalidArgumentError("search.parallelism: negative");
  if (s.has_max_failed_trials() && s.max_failed_trials() < 0) {
    return absl::InvalidArgumentError("search.max_failed_trials: negative");
  }
  if (!s.objective_metric().empty()) MLOPS_RETURN_IF_ERROR(ValidateKey("search.objective_metric", s.objective_metric()));
  if (s.median_stopping().min_completed_trials() < 0 || s.median_stopping().min_step() < 0) {
    return absl::InvalidArgumentError("search.median_stopping: negative setting");
  }
  return absl::OkStatus();
}

absl::Status ValidateData(const v1::DataSpec& d) {
  MLOPS_RETURN_IF_ERROR(ValidateName("data.dataset", d.dataset()));
  if (!d.dataset_version_id().empty() && d.dataset_version_id() != "latest" &&
      !ValidateSha256(d.dataset_version_id()).ok()) {
    return absl::InvalidArgumentError("data.dataset_version_id: a 64-hex version id or \"latest\"");
  }
  MLOPS_RETURN_IF_ERROR(ValidateName("data.label_column", d.label_column()));
  std::set<std::string> seen;
  for (int i = 0; i < d.dataset_feature_columns_size(); ++i) {
    const std::string field = absl::StrCat("data.dataset_feature_columns[", i, "]");
    MLOPS_RETURN_IF_ERROR(ValidateName(field, d.dataset_feature_columns(i)));
    if (d.dataset_feature_columns(i) == d.label_column()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": the label column cannot be a feature"));
    }
    if (!seen.insert(d.dataset_feature_columns(i)).second) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": duplicate"));
    }
  }
  if (d.feature_refs_size() > 1000) return absl::InvalidArgumentError("data.feature_refs: at most 1000");
  for (int i = 0; i < d.feature_refs_size(); ++i) {
    MLOPS_RETURN_IF_ERROR(ParseFeatureRef(absl::StrCat("data.feature_refs[", i, "]"), d.feature_refs(i)).status());
  }
  if (!d.entity_key_column().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("data.entity_key_column", d.entity_key_column()));
  if (!d.timestamp_column().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("data.timestamp_column", d.timestamp_column()));
  return absl::OkStatus();
}

absl::Status ValidateSplit(const v1::SplitSpec& s) {
  if (s.kind() < 0 || s.kind() > v1::SPLIT_KIND_TIME) return absl::InvalidArgumentError("split.kind: unknown");
  if (s.test_fraction() != 0 && !(s.test_fraction() > 0 && s.test_fraction() <= 0.9)) {
    return absl::InvalidArgumentError("split.test_fraction: must be in (0, 0.9]");
  }
  if (s.validation_fraction() != 0 && !(s.validation_fraction() > 0 && s.validation_fraction() <= 0.5)) {
    return absl::InvalidArgumentError("split.validation_fraction: must be in (0, 0.5]");
  }
  if (s.time_cutoff_micros() < 0) return absl::InvalidArgumentError("split.time_cutoff_micros: negative");
  if (s.time_cutoff_micros() != 0 && s.kind() != v1::SPLIT_KIND_TIME) {
    return absl::InvalidArgumentError("split.time_cutoff_micros: only with SPLIT_KIND_TIME");
  }
  return absl::OkStatus();
}

bool EnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

absl::Status ValidateCommand(const v1::CommandTrainer& c) {
  if (c.argv_size() < 1 || c.argv_size() > 1000) {
    return absl::InvalidArgumentError("trainer.command.argv: 1 to 1000 entries required");
  }
  if (c.argv(0).empty()) return absl::InvalidArgumentError("trainer.command.argv[0]: empty");
  for (int i = 0; i < c.argv_size(); ++i) {
    if (c.argv(i).find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("trainer.command.argv[", i, "]: NUL byte"));
    }
  }
  for (const auto& [name, value] : c.env()) {
    if (!EnvName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("trainer.command.env \"", name, "\": names are [A-Z_][A-Z0-9_]*"));
    }
    if (name.rfind("MLOPS_", 0) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("trainer.command.env \"", name, "\": MLOPS_ names are set by the service"));
    }
    if (value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("trainer.command.env \"", name, "\": NUL byte"));
    }
  }
  if (c.timeout_micros() < 0 || c.timeout_micros() > kMaxCommandTimeoutMicros) {
    return absl::InvalidArgumentError("trainer.command.timeout_micros: must be in [0, 7 days]");
  }
  return absl::OkStatus();
}

absl::Status ValidateTrainer(const v1::TrainerSpec& t) {
  switch (t.kind()) {
    case v1::TRAINER_KIND_XGBOOST_GBTREE:
    case v1::TRAINER_KIND_XGBOOST_LINEAR:
      if (t.has_command()) return absl::InvalidArgumentError("trainer.command: only with TRAINER_KIND_COMMAND");
      break;
    case v1::TRAINER_KIND_COMMAND:
      if (!t.has_command()) return absl::InvalidArgumentError("trainer.command: required with TRAINER_KIND_COMMAND");
      MLOPS_RETURN_IF_ERROR(ValidateCommand(t.command()));
      break;
    default:
      return absl::InvalidArgumentError("trainer.kind: XGBOOST_GBTREE, XGBOOST_LINEAR or COMMAND required");
  }
  if (t.objective() < v1::OBJECTIVE_BINARY_LOGISTIC || t.objective() > v1::OBJECTIVE_MULTI_SOFTPROB) {
    return absl::InvalidArgumentError("trainer.objective: required (built-ins train for it; commands are evaluated on it)");
  }
  if (t.objective() == v1::OBJECTIVE_MULTI_SOFTPROB && t.num_class() < 2) {
    return absl::InvalidArgumentError("trainer.num_class: MULTI_SOFTPROB needs >= 2");
  }
  if (t.early_stopping_rounds() < 0) return absl::InvalidArgumentError("trainer.early_stopping_rounds: negative");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FeatureRef> ParseFeatureRef(const std::string& field, const std::string& ref) {
  const std::size_t colon = ref.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, " \"", ref, "\": expected view:feature"));
  }
  FeatureRef out;
  std::string view = ref.substr(0, colon);
  out.feature = ref.substr(colon + 1);
  const std::size_t at = view.find('@');
  if (at != std::string::npos) {
    if (!absl::SimpleAtoi(view.substr(at + 1), &out.version) || out.version < 1) {
      return absl::InvalidArgumentError(absl::StrCat(field, " \"", ref, "\": bad view version"));
    }
    view.resize(at);
  }
  out.view = view;
  if (!ValidateName(field, out.view).ok() || (out.feature != "*" && !ValidateName(field, out.feature).ok())) {
    return absl::InvalidArgumentError(absl::StrCat(field, " \"", ref, "\": malformed feature ref"));
  }
  return out;
}

absl::Status ValidateJobSpec(const v1::TrainingJobSpec& spec) {
  if (!spec.experiment().empty()) MLOPS_RETURN_IF_ERROR(ValidateName("experiment", spec.experiment()));
  if (spec.name().size() > kMaxRunNameBytes) return absl::InvalidArgumentError("name: above 256 bytes");
  MLOPS_RETURN_IF_ERROR(ValidateData(spec.data()));
  MLOPS_RETURN_IF_ERROR(ValidateSplit(spec.split()));
  MLOPS_RETURN_IF_ERROR(ValidateTrainer(spec.trainer()));
  for (const auto& [key, value] : spec.hyperparameters()) {
    MLOPS_RETURN_IF_ERROR(ValidateKey("hyperparameters", key));
    if (ReservedParams().count(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("hyperparameters \"", key, "\": reserved, set by the service"));
    }
    if (key == "num_boost_round") MLOPS_RETURN_IF_ERROR(CheckRounds("hyperparameters", value));
  }
  if (spec.has_search()) MLOPS_RETURN_IF_ERROR(ValidateSearch(spec));
  if (spec.has_register_model()) {
    const v1::RegisterModelOptions& r = spec.register_model();
    MLOPS_RETURN_IF_ERROR(ValidateName("register_model.model_name", r.model_name()));
    if (!r.transition_to_stage().empty() && r.transition_to_stage() != "staging" &&
        r.transition_to_stage() != "production") {
      return absl::InvalidArgumentError("register_model.transition_to_stage: \"\", staging or production");
    }
  }
  std::map<std::string, std::string> tags(spec.tags().begin(), spec.tags().end());
  MLOPS_RETURN_IF_ERROR(ValidateTags(tags));
  if (spec.max_retries() < 0 || spec.max_retries() > 10) {
    return absl::InvalidArgumentError("max_retries: must be in [0, 10]");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TrialParams>> PlanTrials(const v1::TrainingJobSpec& spec) {
  const TrialParams fixed(spec.hyperparameters().begin(), spec.hyperparameters().end());
  if (!spec.has_search()) return std::vector<TrialParams>{fixed};
  const v1::SearchSpec& s = spec.search();
  const uint64_t seed = static_cast<uint64_t>(s.seed() != 0 ? s.seed() : spec.seed());
  MLOPS_ASSIGN_OR_RETURN(std::vector<TrialParams> trials,
                         s.algorithm() == v1::SEARCH_ALGORITHM_GRID
                             ? GridTrials(Ranges(s), s.max_trials())
                             : RandomTrials(Ranges(s), s.max_trials(), seed));
  for (TrialParams& t : trials) {
    t.insert(fixed.begin(), fixed.end());
    if (t.count("num_boost_round")) MLOPS_RETURN_IF_ERROR(CheckRounds("search", t.at("num_boost_round")));
  }
  return trials;
}

absl::StatusOr<TrainerConfig> TrialConfig(const v1::TrainingJobSpec& spec, const TrialParams& params) {
  TrainerConfig c;
  c.booster = spec.trainer().kind() == v1::TRAINER_KIND_XGBOOST_LINEAR ? BoosterKind::kGblinear
                                                                        : BoosterKind::kGbtree;
  c.objective = static_cast<Objective>(spec.trainer().objective());
  c.num_class = spec.trainer().num_class();
  c.early_stopping_rounds = spec.trainer().early_stopping_rounds();
  c.seed = spec.seed();
  c.params = params;
  if (auto it = c.params.find("num_boost_round"); it != c.params.end()) {
    MLOPS_RETURN_IF_ERROR(CheckRounds("num_boost_round", it->second));
    c.num_boost_round = std::stoi(it->second);
    c.params.erase(it);
  }
  return c;
}

SplitOptions ToSplitOptions(const v1::TrainingJobSpec& spec) {
  const v1::SplitSpec& s = spec.split();
  SplitOptions o;
  o.by_time = s.kind() == v1::SPLIT_KIND_TIME;
  if (s.test_fraction() != 0) o.test_fraction = s.test_fraction();
  if (s.validation_fraction() != 0) o.validation_fraction = s.validation_fraction();
  o.seed = static_cast<uint64_t>(s.seed() != 0 ? s.seed() : spec.seed());
  o.time_cutoff_micros = s.time_cutoff_micros();
  return o;
}

std::string ObjectiveMetric(const v1::TrainingJobSpec& spec) {
  if (!spec.search().objective_metric().empty()) return spec.search().objective_metric();
  return absl::StrCat("validation_", ValidationMetricName(static_cast<Objective>(spec.trainer().objective())));
}

Direction ObjectiveDirection(const v1::TrainingJobSpec& spec) {
  switch (spec.search().direction()) {
    case v1::DIRECTION_MAXIMIZE: return Direction::kMaximize;
    case v1::DIRECTION_MINIMIZE: return Direction::kMinimize;
    default: return NaturalDirection(ObjectiveMetric(spec));
  }
}

std::string SpecFingerprint(const v1::TrainingJobSpec& spec) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    spec.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

absl::Status ValidateJobId(const std::string& id) {
  bool ok = id.size() == 20 && id.rfind("job-", 0) == 0;
  for (std::size_t i = 4; ok && i < id.size(); ++i) {
    ok = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("job_id \"", id.substr(0, 64), "\": expected job-<16 hex>"));
}

}  // namespace mlops::training

namespace mlops::training {

std::string DescribeCause(const v1::TriggerCause& cause) {
  std::string out = cause.trigger_name().empty() ? "manual" : absl::StrCat("trigger ", cause.trigger_name());
  if (!cause.alert_id().empty()) absl::StrAppend(&out, ", alert ", cause.alert_id());
  if (!cause.dataset_version_id().empty()) {
    absl::StrAppend(&out, ", dataset version ", cause.dataset_version_id());
  }
  return out;
}

}  // namespace mlops::training
