#pragma once
// Conversions between the training protos and the tracking structs. Pure.

#include "mlops/training/v1/training.pb.h"
#include "services/training/tracking.h"

namespace mlops::training {

void ToProto(const Experiment& in, v1::Experiment* out);
void ToProto(const Run& in, v1::Run* out);
void ToProto(const ArtifactRef& in, v1::ArtifactRef* out);
void ToProto(const MetricPoint& in, v1::MetricPoint* out);

RunInputs FromProto(const v1::RunInputs& in);
RunFilter FromProto(const v1::ListRunsRequest& in);
MetricPoint FromProto(const v1::MetricPoint& in);

}  // namespace mlops::training
