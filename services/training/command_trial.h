#pragma once
// CommandTrial: one trial of a command trainer, from the training set to a
// model: makes the run's work dir (<work_root>/<run id>/), writes
// train.csv, validation.csv and test.csv (command_data.h), builds the
// program's environment (the MLOPS_* variables of the CommandTrainer
// contract plus the spec's env), runs it through a CommandExecutor, and
// reads what it wrote: the model (MLOPS_MODEL_OUT, required and non-empty)
// and optional test predictions. An XGBoost model (JSON the XGBoost C API
// loads, with the training set's number of columns) is evaluated by us on
// the validation and test rows like a built-in trainer's; otherwise test
// metrics come from the predictions file when the program wrote one. The
// work dir is removed afterwards unless kept. Holds no state between calls;
// Run may be called from many threads at once (each run has its own dir).

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/command_executor.h"
#include "services/training/hyper_search.h"
#include "services/training/training_set.h"

namespace mlops::training {

// How command trainers are run by this server.
struct CommandSettings {
  CommandExecutor* executor = nullptr;  // null: command trainers are not enabled
  std::string work_root = "/tmp/mlops-training-runs";  // shared volume for Kubernetes
  std::string training_addr;  // MLOPS_TRAINING_ADDR ("" = not set)
  std::string token;          // MLOPS_TOKEN ("" = not set)
  bool keep_work_dirs = false;
  std::size_t max_model_bytes = std::size_t{1} << 30;
};

struct CommandTrialInput {
  std::string run_id;
  std::string job_id;
  const v1::TrainingJobSpec* spec = nullptr;
  TrialParams params;
  std::string label_column;
  std::vector<std::string> features;  // model input order
  const DenseBlock* train = nullptr;
  const DenseBlock* validation = nullptr;
  const DenseBlock* test = nullptr;
};

struct CommandTrialResult {
  // "" = succeeded; else why it failed ("exit code 3", "timeout: ...",
  // "no model written to <path>", ...).
  std::string failure;
  bool stopped = false;  // cancelled or draining
  std::string model;     // the model file's bytes (on success)
  bool xgboost_json = false;
  std::map<std::string, double> validation_metrics;  // "validation_auc", ... (XGBoost models)
  std::map<std::string, double> test_metrics;        // "test_auc", ...
  std::string stdout_text, stderr_text;
  std::vector<std::string> notes;  // service messages for the run's log
};

// The file names inside a run's work dir.
inline constexpr char kTrainFile[] = "train.csv";
inline constexpr char kValidationFile[] = "validation.csv";
inline constexpr char kTestFile[] = "test.csv";
inline constexpr char kModelFile[] = "model.out";
inline constexpr char kPredictionsFile[] = "test_predictions.txt";

// The CommandTrainer's timeout: 0 = 1 hour.
std::chrono::milliseconds CommandTimeout(const v1::CommandTrainer& command);

// The MLOPS_* environment of a trial plus the spec's env (pure).
std::map<std::string, std::string> CommandEnvironment(const CommandTrialInput& in,
                                                      const CommandSettings& settings,
                                                      const std::string& work_dir);

class CommandTrial {
 public:
  // An error: the work dir or data files could not be written (Internal),
  // or no executor is configured (FailedPrecondition). Everything about the
  // program itself is in the result.
  static absl::StatusOr<CommandTrialResult> Run(const CommandSettings& settings,
                                                const CommandTrialInput& in,
                                                const std::function<bool()>& should_stop,
                                                const CommandLineFn& on_line);
};

}  // namespace mlops::training
