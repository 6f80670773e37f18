#pragma once
// Batch scoring jobs between inference.v1 protos and the gateway's structs.
// Pure functions; thread-safe.

#include "mlops/inference/v1/inference.pb.h"
#include "services/gateway/batch_job.h"

namespace mlops::gateway {

BatchJobSpec SpecFromProto(const inference::v1::SubmitBatchScoringRequest& req);
void JobToProto(const BatchJob& job, inference::v1::BatchScoringJob* out);

}  // namespace mlops::gateway
