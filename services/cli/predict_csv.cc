#include "services/cli/predict_csv.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "common/config/file_util.h"
#include "common/status/grpc_status.h"
#include "mlops/inference/v1/inference.grpc.pb.h"
#include "services/cli/output.h"
#include "services/cli/table.h"

namespace mlops::cli {

namespace inv1 = ::mlops::inference::v1;
namespace cv1 = ::mlops::common::v1;

absl::StatusOr<std::vector<inv1::PredictRequest>> BuildCsvPredictRequests(const TypedCsv& csv,
                                                                          const CsvPredictOptions& options) {
  if (csv.rows.empty()) return absl::InvalidArgumentError("the CSV has no rows");
  if (options.batch_rows <= 0 || options.batch_rows > 1000) {
    return absl::InvalidArgumentError("--batch must be in 1..1000 (the gateway's limit per call)");
  }
  int entity = -1, request_id = -1;
  std::vector<int> features;
  for (int c = 0; c < csv.schema.columns_size(); ++c) {
    const std::string& name = csv.schema.columns(c).name();
    if (name == options.entity_column) {
      entity = c;
    } else if (name == options.request_id_column) {
      request_id = c;
    } else {
      features.push_back(c);
    }
  }
  if (entity < 0 && features.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the CSV has neither feature columns nor an entity key column \"",
                                                   options.entity_column, "\" (set it with --entity_column)"));
  }
  std::vector<inv1::PredictRequest> requests;
  for (std::size_t r = 0; r < csv.rows.size(); ++r) {
    if (r % static_cast<std::size_t>(options.batch_rows) == 0) {
      inv1::PredictRequest& request = requests.emplace_back();
      request.set_endpoint(options.endpoint);
      for (int c : features) request.add_feature_names(csv.schema.columns(c).name());
    }
    const cv1::Row& in = csv.rows[r];
    inv1::PredictRow* row = requests.back().add_rows();
    if (entity >= 0) {
      if (in.values(entity).kind_case() == cv1::Value::KIND_NOT_SET) {
        return absl::InvalidArgumentError(absl::StrCat("row ", r + 1, ", column \"", options.entity_column,
                                                       "\": empty entity key"));
      }
      *row->mutable_entity_key() = in.values(entity);
    }
    if (request_id >= 0) row->set_request_id(ValueText(in.values(request_id)));
    for (int c : features) *row->mutable_features()->add_values() = in.values(c);
  }
  return requests;
}

int PredictFromCsv(CliContext& ctx, const std::string& endpoint, const CommandArgs& args) {
  CsvPredictOptions options;
  options.endpoint = endpoint;
  options.entity_column = OptionOr(args, "entity_column", options.entity_column);
  options.request_id_column = OptionOr(args, "request_id_column", options.request_id_column);
  auto batch = PositiveIntOption(args, "batch", options.batch_rows);
  if (!batch.ok()) return UsageError(batch.status(), "predict");
  options.batch_rows = *batch;
  const std::string path = args.options.at("csv");
  auto text = ReadFileToString(path);
  if (!text.ok()) return UsageError(text.status(), "predict");
  // Entity keys and request ids keep their text unless they are numbers.
  auto csv = ParseTypedCsv(*text, path, {{options.request_id_column, cv1::DATA_TYPE_STRING}});
  if (!csv.ok()) return UsageError(csv.status(), "predict");
  auto requests = BuildCsvPredictRequests(*csv, options);
  if (!requests.ok()) return UsageError(absl::InvalidArgumentError(absl::StrCat(path, ": ", requests.status().message())), "predict");
  auto stub = inv1::InferenceService::NewStub(ctx.Channel("gateway"));
  inv1::PredictResponse all;
  all.set_endpoint(endpoint);
  int64_t first_row = 0;
  for (const inv1::PredictRequest& request : *requests) {
    inv1::PredictResponse response;
    auto context = ctx.NewContext();
    const grpc::Status status = stub->Predict(context.get(), request, &response);
    if (!status.ok()) {
      // The gateway names rows within the batch; say where the batch starts.
      return ReportError(FromGrpcStatus(status),
                         absl::StrCat("predict (batch starting at CSV row ", first_row + 1, ")"));
    }
    if (all.request_id().empty()) all.set_request_id(response.request_id());
    all.set_latency_micros(all.latency_micros() + response.latency_micros());
    all.set_feature_lookup_micros(all.feature_lookup_micros() + response.feature_lookup_micros());
    for (inv1::RowPrediction& p : *response.mutable_predictions()) *all.add_predictions() = std::move(p);
    first_row += request.rows_size();
  }
  if (ctx.json()) {
    PrintJson(all);
    return kExitOk;
  }
  Table table({"ROW", "REQUEST", "SCORE", "LABEL", "MODEL", "VARIANT"});
  for (int i = 0; i < all.predictions_size(); ++i) {
    const inv1::RowPrediction& p = all.predictions(i);
    table.AddRow({absl::StrCat(i + 1), p.request_id(), FormatNumber(p.score()), OrDash(p.predicted_label()),
                  absl::StrCat(p.model(), "@", p.version()), EnumText(inv1::Variant_Name(p.variant()), "VARIANT_")});
  }
  table.Print(std::cout);
  std::cout << all.predictions_size() << " rows in " << requests->size() << " call(s), "
            << FormatNumber(all.latency_micros() / 1000.0) << " ms in the gateway\n";
  return kExitOk;
}

}  // namespace mlops::cli
