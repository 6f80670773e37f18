#pragma once
// The registry request for a job's best model: flavor XGBoost (JSON), the
// signature (ordered inputs with types and feature refs, output, entity
// key), lineage (run, dataset version, feature view versions, label, code
// version, trainer, params, seed, the trigger / alert that started the job),
// the test evaluation and the reviewer documentation. Pure.

#include <cstdint>
#include <string>

#include "mlops/registry/v1/registry.pb.h"
#include "mlops/training/v1/training.pb.h"
#include "services/training/hyper_search.h"

namespace mlops::training {

// `job` must have its best run, resolved inputs, signature and best test
// metrics set. label_type / entity_key_type are DataType numbers.
registry::v1::RegisterModelVersionHeader RegistrationHeader(const v1::TrainingJob& job,
                                                            const TrialParams& params,
                                                            const std::string& artifact,
                                                            int label_type, int entity_key_type);

// The lineage of a job and its runs: the dataset version, feature view
// versions and what started it.
common::v1::Lineage JobLineage(const v1::TrainingJob& job);

}  // namespace mlops::training
