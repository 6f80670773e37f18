#pragma once
// Human-readable rendering of an ingestion ValidationReport: one summary line
// and a table of expectations with failing counts and example rows.

#include <ostream>

#include "mlops/ingestion/v1/ingestion.pb.h"

namespace mlops::cli {

void PrintValidationReport(const ingestion::v1::ValidationReport& report, std::ostream& out);

}  // namespace mlops::cli
