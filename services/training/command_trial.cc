#include "services/training/command_trial.h"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/xgboost/xgb_booster.h"
#include "services/training/command_data.h"
#include "services/training/eval_metrics.h"
#include "services/training/xgb_trainer.h"

namespace mlops::training {
namespace {

namespace fs = std::filesystem;
using xgb::Prediction;
using xgb::XgbBooster;

constexpr int64_t kDefaultTimeoutMicros = int64_t{3600} * 1000 * 1000;
constexpr std::size_t kMaxPredictionBytes = std::size_t{256} << 20;

// Our metrics of an XGBoost model on a block.
absl::StatusOr<std::map<std::string, double>> EvaluateXgb(const XgbBooster& booster, Objective objective,
                                                          int num_class, const DenseBlock& block,
                                                          const std::string& prefix) {
  if (block.rows == 0) return std::map<std::string, double>{};
  MLOPS_ASSIGN_OR_RETURN(Prediction p, booster.PredictDense(block.values.data(), block.rows, block.cols));
  return EvaluatePredictions(objective, num_class, block.labels, p.values, prefix);
}

// Evaluates the model when it is XGBoost JSON with the right width; notes why not otherwise.
void EvaluateModel(const CommandTrialInput& in, CommandTrialResult* r) {
  if (r->model.empty() || r->model[0] != '{') return;
  absl::StatusOr<XgbBooster> booster = XgbBooster::Load(r->model);
  if (!booster.ok()) return;  // JSON, but not an XGBoost model
  absl::StatusOr<std::size_t> width = booster->NumFeatures();
  if (!width.ok() || *width != in.features.size()) {
    r->notes.push_back(absl::StrCat("the model is XGBoost JSON but takes ", width.ok() ? *width : 0,
                                    " features, not the training set's ", in.features.size(),
                                    ": not evaluated by the service"));
    return;
  }
  const auto objective = static_cast<Objective>(in.spec->trainer().objective());
  const int num_class = in.spec->trainer().num_class();
  absl::StatusOr<std::map<std::string, double>> v = EvaluateXgb(*booster, objective, num_class, *in.validation, "validation_");
  absl::StatusOr<std::map<std::string, double>> t = EvaluateXgb(*booster, objective, num_class, *in.test, "test_");
  if (!v.ok() || !t.ok()) {
    r->notes.push_back(absl::StrCat("evaluating the XGBoost model failed: ",
                                    (!v.ok() ? v.status() : t.status()).message()));
    return;
  }
  r->xgboost_json = true;
  r->validation_metrics = std::move(*v);
  r->test_metrics = std::move(*t);
}

// Test metrics from the predictions file the program may have written.
void ReadPredictions(const CommandTrialInput& in, const std::string& path, CommandTrialResult* r) {
  absl::StatusOr<std::string> text = ReadWholeFile(path, kMaxPredictionBytes);
  if (absl::IsNotFound(text.status())) return;
  const auto objective = static_cast<Objective>(in.spec->trainer().objective());
  const std::size_t outputs =
      objective == Objective::kMultiSoftprob ? static_cast<std::size_t>(in.spec->trainer().num_class()) : 1;
  absl::StatusOr<std::vector<float>> pred =
      text.ok() ? ParsePredictions(*text, in.test->rows, outputs) : absl::StatusOr<std::vector<float>>(text.status());
  if (!pred.ok()) {
    r->notes.push_back(absl::StrCat("test predictions ignored: ", pred.status().message()));
    return;
  }
  if (r->xgboost_json) return;  // our own evaluation of the model wins
  r->test_metrics = EvaluatePredictions(objective, in.spec->trainer().num_class(), in.test->labels, *pred, "test_");
}

}  // namespace

std::chrono::milliseconds CommandTimeout(const v1::CommandTrainer& command) {
  const int64_t micros = command.timeout_micros() == 0 ? kDefaultTimeoutMicros : command.timeout_micros();
  return std::chrono::milliseconds(std::max<int64_t>(1, micros / 1000));
}

std::map<std::string, std::string> CommandEnvironment(const CommandTrialInput& in,
                                                      const CommandSettings& settings,
                                                      const std::string& work_dir) {
  const v1::TrainingJobSpec& spec = *in.spec;
  std::map<std::string, std::string> env(spec.trainer().command().env().begin(),
                                         spec.trainer().command().env().end());
  env["MLOPS_RUN_ID"] = in.run_id;
  env["MLOPS_JOB_ID"] = in.job_id;
  if (!settings.training_addr.empty()) env["MLOPS_TRAINING_ADDR"] = settings.training_addr;
  if (!settings.token.empty()) env["MLOPS_TOKEN"] = settings.token;
  env["MLOPS_TRAIN_FILE"] = absl::StrCat(work_dir, "/", kTrainFile);
  env["MLOPS_VALIDATION_FILE"] = absl::StrCat(work_dir, "/", kValidationFile);
  env["MLOPS_TEST_FILE"] = absl::StrCat(work_dir, "/", kTestFile);
  env["MLOPS_MODEL_OUT"] = absl::StrCat(work_dir, "/", kModelFile);
  env["MLOPS_TEST_PREDICTIONS_OUT"] = absl::StrCat(work_dir, "/", kPredictionsFile);
  env["MLOPS_PARAMS_JSON"] = ParamsJson(in.params);
  env["MLOPS_SEED"] = absl::StrCat(spec.seed());
  env["MLOPS_OBJECTIVE"] = XgbObjectiveName(static_cast<Objective>(spec.trainer().objective()));
  env["MLOPS_LABEL_COLUMN"] = in.label_column;
  if (spec.trainer().objective() == v1::OBJECTIVE_MULTI_SOFTPROB) {
    env["MLOPS_NUM_CLASS"] = absl::StrCat(spec.trainer().num_class());
  }
  return env;
}

absl::StatusOr<CommandTrialResult> CommandTrial::Run(const CommandSettings& settings,
                                                     const CommandTrialInput& in,
                                                     const std::function<bool()>& should_stop,
                                                     const CommandLineFn& on_line) {
  if (settings.executor == nullptr) {
    return absl::FailedPreconditionError("command trainers are not enabled on this server");
  }
  const std::string dir = (fs::path(settings.work_root) / in.run_id).lexically_normal().string();
  std::error_code ec;
  fs::remove_all(dir, ec);  // a run id is never reused; a leftover is ours from a crash
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("creating the work dir ", dir, ": ", ec.message()));
  // Group-writable: a Kubernetes pod may run as another user of the shared volume.
  chmod(dir.c_str(), 0777);
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      std::error_code ignored;
      if (!keep) fs::remove_all(dir, ignored);
    }
  } cleanup{dir, settings.keep_work_dirs};
  MLOPS_RETURN_IF_ERROR(WriteWholeFile(absl::StrCat(dir, "/", kTrainFile), TrainingCsv(in.label_column, in.features, *in.train)));
  MLOPS_RETURN_IF_ERROR(WriteWholeFile(absl::StrCat(dir, "/", kValidationFile),
                                       TrainingCsv(in.label_column, in.features, *in.validation)));
  MLOPS_RETURN_IF_ERROR(WriteWholeFile(absl::StrCat(dir, "/", kTestFile), TrainingCsv(in.label_column, in.features, *in.test)));

  const v1::CommandTrainer& command = in.spec->trainer().command();
  CommandInvocation inv;
  inv.run_id = in.run_id;
  inv.job_id = in.job_id;
  inv.argv.assign(command.argv().begin(), command.argv().end());
  inv.env = CommandEnvironment(in, settings, dir);
  inv.work_dir = dir;
  inv.timeout = CommandTimeout(command);
  inv.image = command.image();
  inv.cpu = command.cpu();
  inv.memory = command.memory();

  CommandTrialResult r;
  absl::StatusOr<CommandOutcome> outcome = settings.executor->Execute(inv, should_stop, on_line);
  if (!outcome.ok()) {
    r.failure = absl::StrCat(settings.executor->name(), " executor: ", outcome.status().message());
    return r;
  }
  r.stdout_text = std::move(outcome->stdout_text);
  r.stderr_text = std::move(outcome->stderr_text);
  r.stopped = outcome->stopped;
  r.failure = DescribeFailure(*outcome, inv.timeout);
  if (!r.failure.empty()) return r;
  const std::string model_path = inv.env["MLOPS_MODEL_OUT"];
  absl::StatusOr<std::string> model = ReadWholeFile(model_path, settings.max_model_bytes);
  if (absl::IsNotFound(model.status()) || (model.ok() && model->empty())) {
    r.failure = absl::StrCat("no model written to ", model_path, " (MLOPS_MODEL_OUT)");
    return r;
  }
  if (!model.ok()) {
    r.failure = absl::StrCat("reading the model: ", model.status().message());
    return r;
  }
  r.model = std::move(*model);
  EvaluateModel(in, &r);
  ReadPredictions(in, inv.env["MLOPS_TEST_PREDICTIONS_OUT"], &r);
  return r;
}

}  // namespace mlops::training
