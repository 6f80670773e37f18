#pragma once
// `mlopsctl datasets sources create|list|pull`: pull sources of the
// ingestion service (a PostgreSQL query with a watermark column, or a folder
// of CSV files). `create` also takes --dsn-env=VAR (instead of --dsn),
// --max-rows=N, --glob=G, --no-header, --delimiter=C, --null-text=T,
// --replace and --paused.
#include <vector>

#include "services/cli/cli_context.h"

namespace mlops::cli {

void AddDatasetSourceCommands(std::vector<Command>& commands);

}  // namespace mlops::cli
