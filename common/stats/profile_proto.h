#pragma once
// Conversion between the statistics structs of common/stats and their wire
// form in common.proto (ColumnProfile, DatasetProfile), shared by every
// service that stores or sends profiles. Pure functions, thread-safe.

#include "common/stats/column_profile.h"
#include "mlops/common/v1/common.pb.h"

namespace mlops::stats {

void ColumnProfileToProto(const ColumnProfile& profile, common::v1::ColumnProfile* out);
ColumnProfile ColumnProfileFromProto(const common::v1::ColumnProfile& profile);

// `out` is cleared first.
void DatasetProfileToProto(const DatasetProfile& profile, common::v1::DatasetProfile* out);
DatasetProfile DatasetProfileFromProto(const common::v1::DatasetProfile& profile);

}  // namespace mlops::stats
