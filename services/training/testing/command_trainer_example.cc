// command_trainer_example: a user training program as the command trainer
// contract sees it (and the example the docs point to). It reads
// MLOPS_TRAIN_FILE and MLOPS_VALIDATION_FILE (CSV: label, then features),
// trains XGBoost (10 rounds, binary:logistic, MLOPS_SEED), streams its
// per-round validation AUC and the row count to MLOPS_TRAINING_ADDR through
// LogMetrics (bearer MLOPS_TOKEN) for run MLOPS_RUN_ID, and writes the
// model's JSON to MLOPS_MODEL_OUT.
//   --opaque: writes a model file that is not XGBoost's and logs
//             "validation_auc" itself (the service then has only that).
// Exit codes: 0 ok, 2 bad input, 4 tracking RPC failed.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "mlops/training/v1/training.grpc.pb.h"
#include "services/training/xgb_trainer.h"

namespace {

namespace tv1 = mlops::training::v1;
using mlops::training::DenseBlock;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool ReadCsv(const std::string& path, DenseBlock* block) {
  std::ifstream f(path);
  std::string line;
  if (!std::getline(f, line)) return false;
  block->cols = std::vector<std::string>(absl::StrSplit(line, ',')).size() - 1;
  while (std::getline(f, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    if (fields.size() != block->cols + 1) return false;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!fields[i].empty() && !absl::SimpleAtod(fields[i], &v)) return false;
      (i == 0 ? block->labels : block->values).push_back(static_cast<float>(v));
    }
    ++block->rows;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const bool opaque = argc > 1 && std::string(argv[1]) == "--opaque";
  DenseBlock train, validation;
  if (!ReadCsv(Env("MLOPS_TRAIN_FILE"), &train) || !ReadCsv(Env("MLOPS_VALIDATION_FILE"), &validation)) {
    std::cerr << "cannot read the training files\n";
    return 2;
  }
  std::cout << "read " << train.rows << " train rows, " << train.cols << " features\n";

  auto channel = grpc::CreateChannel(Env("MLOPS_TRAINING_ADDR"), grpc::InsecureChannelCredentials());
  auto stub = tv1::TrainingService::NewStub(channel);
  grpc::ClientContext ctx;
  if (!Env("MLOPS_TOKEN").empty()) ctx.AddMetadata("authorization", "Bearer " + Env("MLOPS_TOKEN"));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  tv1::LogMetricsResponse response;
  auto writer = stub->LogMetrics(&ctx, &response);
  auto log = [&](const std::string& key, double value, int64_t step) {
    tv1::LogMetricsRequest req;
    req.set_run_id(Env("MLOPS_RUN_ID"));
    tv1::MetricPoint* p = req.add_points();
    p->set_key(key);
    p->set_value(value);
    p->set_step(step);
    return writer->Write(req);
  };
  log("train_rows", static_cast<double>(train.rows), 0);

  mlops::training::TrainerConfig config;
  config.num_boost_round = 10;
  config.seed = std::atoll(Env("MLOPS_SEED").c_str());
  config.params = {{"max_depth", "3"}};
  double last_auc = 0;
  auto trained = mlops::training::BuiltinXgbTrainer::Train(
      config, train, validation, validation, [&](int round, const std::map<std::string, double>& m) {
        auto it = m.find("validation_auc");
        if (it != m.end()) {
          last_auc = it->second;
          log(opaque ? "validation_auc" : "example_validation_auc", it->second, round);
        }
        return true;
      });
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    std::cerr << "LogMetrics: " << status.error_message() << "\n";
    return 4;
  }
  if (!trained.ok()) {
    std::cerr << "training: " << trained.status() << "\n";
    return 2;
  }
  std::cerr << "logged " << response.points_logged() << " points; last auc " << last_auc << "\n";
  std::ofstream out(Env("MLOPS_MODEL_OUT"), std::ios::binary);
  out << (opaque ? "opaque model\n" : trained->model_json);
  return out ? 0 : 2;
}
