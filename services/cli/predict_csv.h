#pragma once
// `mlopsctl predict --endpoint E --csv FILE`: the CSV's rows, in batches,
// through the gateway. Columns are inline features by name, except the
// entity key column (--entity_column, default a column named "entity_key")
// and the request id column (--request_id_column, default "request_id"),
// which the gateway joins ground truth by.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/inference/v1/inference.pb.h"
#include "services/cli/args.h"
#include "services/cli/cli_context.h"
#include "services/cli/csv_table.h"

namespace mlops::cli {

struct CsvPredictOptions {
  std::string endpoint;
  std::string entity_column = "entity_key";  // used only if the CSV has it
  std::string request_id_column = "request_id";
  int64_t batch_rows = 500;  // the gateway takes at most 1000 rows a call
};

// One request per batch of rows, in file order. Pure.
absl::StatusOr<std::vector<inference::v1::PredictRequest>> BuildCsvPredictRequests(
    const TypedCsv& csv, const CsvPredictOptions& options);

// Runs the command for parsed arguments (options: csv, batch, entity_column,
// request_id_column).
int PredictFromCsv(CliContext& ctx, const std::string& endpoint, const CommandArgs& args);

}  // namespace mlops::cli
