// The dataset and feature steps of the closed loop (see loop_steps.h).
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace iv1 = ::mlops::ingestion::v1;
namespace fv1 = ::mlops::features::v1;

constexpr int kChunkRows = 5000;
constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;

void AddColumn(cv1::Schema* schema, const std::string& name, cv1::DataType type,
               cv1::ColumnRole role) {
  cv1::Column* c = schema->add_columns();
  c->set_name(name);
  c->set_type(type);
  c->set_role(role);
}

void ToRow(const Transaction& t, cv1::Row* row) {
  row->add_values()->set_string_value(t.customer_id);
  row->add_values()->set_timestamp_micros(t.ts_micros);
  row->add_values()->set_double_value(t.amount);
  row->add_values()->set_int64_value(t.mcc);
  row->add_values()->set_string_value(t.merchant_category);
  row->add_values()->set_string_value(t.country);
  row->add_values()->set_bool_value(t.foreign);
  row->add_values()->set_bool_value(t.is_fraud);
}

fv1::FeatureDefinition* Aggregate(fv1::FeatureViewSpec* spec, const std::string& name,
                                  fv1::AggregationFunction function, int64_t window) {
  fv1::FeatureDefinition* f = spec->add_features();
  f->set_name(name);
  f->mutable_aggregation()->set_function(function);
  f->mutable_aggregation()->set_column("amount");
  f->mutable_aggregation()->set_window_micros(window);
  return f;
}

}  // namespace

absl::Status CreateTransactionsDataset(PlatformClient& platform) {
  iv1::CreateDatasetRequest request;
  request.set_name(kDataset);
  request.set_description("Card transactions: one row per purchase, labelled fraud or not.");
  cv1::Schema* schema = request.mutable_schema();
  AddColumn(schema, "customer_id", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_ENTITY_KEY);
  AddColumn(schema, "ts", cv1::DATA_TYPE_TIMESTAMP, cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  AddColumn(schema, "amount", cv1::DATA_TYPE_DOUBLE, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(schema, "mcc", cv1::DATA_TYPE_INT64, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(schema, "merchant_category", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_METADATA);
  AddColumn(schema, "country", cv1::DATA_TYPE_STRING, cv1::COLUMN_ROLE_METADATA);
  AddColumn(schema, "foreign", cv1::DATA_TYPE_BOOL, cv1::COLUMN_ROLE_FEATURE);
  AddColumn(schema, "is_fraud", cv1::DATA_TYPE_BOOL, cv1::COLUMN_ROLE_LABEL);
  iv1::Expectation* amount = request.add_expectations();
  amount->set_name("amount_in_range");
  amount->set_column("amount");
  amount->set_severity(iv1::SEVERITY_ERROR);
  amount->mutable_between()->mutable_min()->set_double_value(0);
  amount->mutable_between()->mutable_max()->set_double_value(100000);
  iv1::Expectation* mcc = request.add_expectations();
  mcc->set_name("known_merchant_code");
  mcc->set_column("mcc");
  mcc->set_severity(iv1::SEVERITY_ERROR);
  for (int64_t code : {5411, 5812, 5541, 5732, 4722, 5651, 5947}) {
    mcc->mutable_in_set()->add_values()->set_int64_value(code);
  }
  iv1::Dataset dataset;
  auto context = platform.Context();
  return CheckRpc(platform.ingestion().CreateDataset(context.get(), request, &dataset),
               "CreateDataset");
}

absl::StatusOr<iv1::IngestBatchResponse> IngestTransactions(
    PlatformClient& platform, const std::vector<Transaction>& transactions,
    const std::string& source) {
  auto context = platform.Context(std::chrono::milliseconds(600000));
  iv1::IngestBatchResponse response;
  auto writer = platform.ingestion().IngestBatch(context.get(), &response);
  iv1::IngestBatchRequest message;
  message.mutable_header()->set_dataset(kDataset);
  message.mutable_header()->set_mode(iv1::INGEST_MODE_APPEND);
  message.mutable_header()->set_source(source);
  bool open = writer->Write(message);
  for (std::size_t i = 0; open && i < transactions.size(); i += kChunkRows) {
    message.Clear();
    for (std::size_t j = i; j < std::min(transactions.size(), i + kChunkRows); ++j) {
      ToRow(transactions[j], message.mutable_chunk()->add_rows());
    }
    open = writer->Write(message);
  }
  if (open) {
    message.Clear();
    message.mutable_end()->set_row_count(static_cast<int64_t>(transactions.size()));
    writer->Write(message);
    writer->WritesDone();
  }
  MLOPS_RETURN_IF_ERROR(CheckRpc(writer->Finish(), "IngestBatch"));
  return response;
}

absl::StatusOr<fv1::FeatureView> RegisterCardActivityView(PlatformClient& platform) {
  fv1::RegisterFeatureViewRequest request;
  fv1::FeatureViewSpec* spec = request.mutable_spec();
  spec->set_name(kView);
  spec->set_description("What a customer's card did recently.");
  spec->set_source_dataset(kDataset);
  spec->set_entity_key_column("customer_id");
  spec->set_timestamp_column("ts");
  spec->set_ttl_micros(kDay);
  for (const char* column : {"amount", "mcc", "foreign"}) {
    fv1::FeatureDefinition* f = spec->add_features();
    f->set_name(absl::StrCat("last_", column));
    f->mutable_raw()->set_column(column);
  }
  Aggregate(spec, "spend_10m", fv1::AGGREGATION_FUNCTION_SUM, kHour / 6);
  Aggregate(spec, "count_10m", fv1::AGGREGATION_FUNCTION_COUNT, kHour / 6);
  Aggregate(spec, "spend_1h", fv1::AGGREGATION_FUNCTION_SUM, kHour);
  Aggregate(spec, "mean_amount_1h", fv1::AGGREGATION_FUNCTION_MEAN, kHour);
  Aggregate(spec, "max_amount_1h", fv1::AGGREGATION_FUNCTION_MAX, kHour);
  spec->set_materialization(fv1::MATERIALIZATION_POLICY_AUTO);
  fv1::RegisterFeatureViewResponse response;
  auto context = platform.Context();
  MLOPS_RETURN_IF_ERROR(CheckRpc(platform.features().RegisterFeatureView(context.get(), request, &response),
                              "RegisterFeatureView"));
  return response.view();
}

absl::Status MaterializeCardActivity(PlatformClient& platform) {
  fv1::MaterializeRequest request;
  request.set_view(kView);
  request.set_mode(fv1::MATERIALIZATION_MODE_FULL);
  fv1::MaterializeResponse response;
  auto context = platform.Context(std::chrono::milliseconds(300000));
  return CheckRpc(platform.features().Materialize(context.get(), request, &response), "Materialize");
}

}  // namespace mlops::demo
