// The data outcomes of the closed loop (closed_loop_outcomes.h, items 1-3):
// content-addressed, linear dataset versions; nothing left by the bad batch;
// point-in-time features equal to a hand computation.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/demo/loop_steps.h"
#include "tests/integration/closed_loop_outcomes.h"

namespace mlops::testing_platform {
namespace {

namespace cv1 = ::mlops::common::v1;
namespace iv1 = ::mlops::ingestion::v1;
namespace fv1 = ::mlops::features::v1;

constexpr int kMaxPages = 100;
constexpr int kReportedPerCheck = 5;  // individual failures named per check; then a count

// Reads rows [offset, end) of a version. Empty string on success, else why not.
std::string ReadRows(demo::PlatformClient& platform, const std::string& version_id,
                     int64_t offset, std::vector<cv1::Row>* rows) {
  iv1::ReadDatasetVersionRequest request;
  request.mutable_version()->set_dataset(demo::kDataset);
  request.mutable_version()->set_version_id(version_id);
  request.set_offset(offset);
  request.set_chunk_rows(65536);
  auto context = platform.Context(std::chrono::milliseconds(120000));
  auto reader = platform.ingestion().ReadDatasetVersion(context.get(), request);
  iv1::ReadDatasetVersionResponse message;
  int64_t expected = -1;
  while (reader->Read(&message)) {
    if (message.has_header()) expected = message.header().row_count();
    for (cv1::Row& row : *message.mutable_chunk()->mutable_rows()) rows->push_back(std::move(row));
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::StrCat("ReadDatasetVersion ", version_id, " from row ", offset, ": ",
                        status.error_message());
  }
  if (expected != static_cast<int64_t>(rows->size())) {
    return absl::StrCat("ReadDatasetVersion ", version_id, ": header says ", expected,
                        " rows, the chunks held ", rows->size());
  }
  return "";
}

std::string Describe(const iv1::DatasetVersion& v) {
  return absl::StrCat("version #", v.sequence(), " ", v.id().substr(0, 12), " (source \"",
                      v.source(), "\", ", v.batch_row_count(), " batch rows)");
}

bool SameValue(const cv1::Value& a, const cv1::Value& b, double relative_tolerance) {
  if (a.kind_case() != b.kind_case()) return false;
  if (a.kind_case() != cv1::Value::kDoubleValue) return a.SerializeAsString() == b.SerializeAsString();
  const double x = a.double_value(), y = b.double_value();
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  if (relative_tolerance == 0) return x == y;
  return std::fabs(x - y) <= relative_tolerance * std::max(1.0, std::max(std::fabs(x), std::fabs(y)));
}

// Whether a head row satisfies a range or set expectation ("" if so or if
// the expectation is of another kind), else what it broke.
std::string Violation(const iv1::Expectation& e, int column, const cv1::Row& row) {
  if (column < 0 || column >= row.values_size()) return "";
  const cv1::Value& v = row.values(column);
  if (v.kind_case() == cv1::Value::KIND_NOT_SET) return "";
  if (e.has_between()) {
    const double x = v.kind_case() == cv1::Value::kDoubleValue ? v.double_value()
                                                                : static_cast<double>(v.int64_value());
    auto bound = [](const cv1::Value& b) {
      return b.kind_case() == cv1::Value::kDoubleValue ? b.double_value()
                                                       : static_cast<double>(b.int64_value());
    };
    const bool low = e.between().has_min() && e.between().min().kind_case() != cv1::Value::KIND_NOT_SET &&
                     x < bound(e.between().min());
    const bool high = e.between().has_max() && e.between().max().kind_case() != cv1::Value::KIND_NOT_SET &&
                      x > bound(e.between().max());
    return low || high ? absl::StrCat(DescribeValue(v), " outside the range") : "";
  }
  if (e.has_in_set()) {
    for (const cv1::Value& allowed : e.in_set().values()) {
      if (allowed.SerializeAsString() == v.SerializeAsString()) return "";
    }
    return absl::StrCat(DescribeValue(v), " not in the set");
  }
  return "";
}

}  // namespace

bool ReadDatasetFacts(demo::PlatformClient& platform, DatasetFacts* facts) {
  {
    iv1::GetDatasetRequest request;
    request.set_name(demo::kDataset);
    auto context = platform.Context();
    const grpc::Status s = platform.ingestion().GetDataset(context.get(), request, &facts->dataset);
    if (!s.ok()) {
      ADD_FAILURE() << "GetDataset " << demo::kDataset << ": " << s.error_message();
      return false;
    }
  }
  facts->schema = facts->dataset.schema();
  std::string token;
  for (int page = 0; page < kMaxPages; ++page) {
    iv1::ListDatasetVersionsRequest request;
    request.set_dataset(demo::kDataset);
    request.set_oldest_first(true);
    request.mutable_page()->set_page_size(1000);
    request.mutable_page()->set_page_token(token);
    iv1::ListDatasetVersionsResponse response;
    auto context = platform.Context();
    const grpc::Status s = platform.ingestion().ListDatasetVersions(context.get(), request, &response);
    if (!s.ok()) {
      ADD_FAILURE() << "ListDatasetVersions " << demo::kDataset << ": " << s.error_message();
      return false;
    }
    facts->versions.insert(facts->versions.end(), response.versions().begin(), response.versions().end());
    token = response.next_page_token();
    if (token.empty()) break;
  }
  if (facts->versions.empty()) {
    ADD_FAILURE() << "dataset " << demo::kDataset << " has no version after the loop";
    return false;
  }
  const std::string error = ReadRows(platform, facts->versions.back().id(), 0, &facts->head_rows);
  if (!error.empty()) ADD_FAILURE() << error;
  return error.empty();
}

void ExpectVersionsAreContentAddressed(demo::PlatformClient& platform, const DatasetFacts& facts) {
  int mismatches = 0;
  int64_t parent_rows = 0;
  for (size_t i = 0; i < facts.versions.size(); ++i) {
    const iv1::DatasetVersion& v = facts.versions[i];
    const std::string parent = i == 0 ? "" : facts.versions[i - 1].id();
    EXPECT_EQ(v.sequence(), static_cast<int64_t>(i + 1)) << Describe(v) << ": sequence gap";
    EXPECT_EQ(v.parent_id(), parent) << Describe(v) << ": its parent is not the previous version";
    const bool replace = v.mode() == iv1::INGEST_MODE_REPLACE;
    if (!replace) {
      EXPECT_EQ(v.row_count(), parent_rows + v.batch_row_count())
          << Describe(v) << ": an APPEND version must hold its parent's rows plus its batch";
    }
    if (i > 0) {
      bool names_parent = false;
      for (const cv1::ResourceRef& in : v.lineage().inputs()) {
        names_parent |= in.kind() == cv1::RESOURCE_KIND_DATASET_VERSION && in.id() == parent;
      }
      EXPECT_TRUE(names_parent) << Describe(v) << ": lineage does not name its parent " << parent;
    }
    std::vector<cv1::Row> batch;
    const std::string error = ReadRows(platform, v.id(), replace ? 0 : parent_rows, &batch);
    ASSERT_EQ(error, "") << Describe(v);
    EXPECT_EQ(static_cast<int64_t>(batch.size()), v.batch_row_count()) << Describe(v);
    const std::string expected =
        ExpectedDatasetVersionId(demo::kDataset, v.parent_id(), v.mode(), facts.schema, batch);
    if (expected != v.id() && ++mismatches <= kReportedPerCheck) {
      ADD_FAILURE() << Describe(v) << ": id " << v.id() << " is not the sha256 of its canonical "
                    << "encoding (dataset, parent, mode, schema, the " << batch.size()
                    << " rows read back): recomputed " << expected;
    }
    parent_rows = v.row_count();
  }
  EXPECT_EQ(mismatches, 0) << mismatches << " of " << facts.versions.size()
                           << " dataset versions do not hash to their id";
  std::printf("1. %zu dataset versions, each id recomputed from its batch's rows read back: %d differ\n",
              facts.versions.size(), mismatches);
  EXPECT_EQ(facts.dataset.head_version_id(), facts.versions.back().id())
      << "the dataset's head is not the newest listed version";

  // The head's lineage walks the same chain back (parent first).
  iv1::GetLineageRequest request;
  request.mutable_version()->set_version_id(facts.versions.back().id());
  const int ancestors = static_cast<int>(std::min<size_t>(facts.versions.size() - 1, 1000));
  request.set_max_ancestors(ancestors);
  iv1::GetLineageResponse lineage;
  auto context = platform.Context();
  const grpc::Status s = platform.ingestion().GetLineage(context.get(), request, &lineage);
  ASSERT_TRUE(s.ok()) << "GetLineage of the head: " << s.error_message();
  ASSERT_EQ(lineage.ancestors_size(), ancestors) << "ancestors of the head";
  for (int k = 0; k < ancestors; ++k) {
    EXPECT_EQ(lineage.ancestors(k).id(), facts.versions[facts.versions.size() - 2 - k].id())
        << "the head's ancestor " << k << " (parent first) is not the listed version #"
        << facts.versions.size() - 1 - k;
  }
}

void ExpectBadBatchLeftNothing(const DatasetFacts& facts, const std::string& bad_source,
                               const std::string& ingestion_metrics) {
  int64_t accepted_rows = 0;
  for (const iv1::DatasetVersion& v : facts.versions) {
    EXPECT_NE(v.source(), bad_source) << Describe(v) << ": the rejected batch made a version";
    EXPECT_NE(v.lineage().source(), bad_source) << Describe(v) << ": lineage names the rejected batch";
    for (const cv1::ResourceRef& in : v.lineage().inputs()) {
      EXPECT_NE(in.id(), bad_source) << Describe(v) << ": lineage input names the rejected batch";
    }
    accepted_rows += v.batch_row_count();
  }
  const iv1::DatasetVersion& head = facts.versions.back();
  EXPECT_EQ(head.row_count(), accepted_rows)
      << "the head's row count is not the sum of the " << facts.versions.size() << " accepted batches";
  EXPECT_EQ(static_cast<int64_t>(facts.head_rows.size()), head.row_count())
      << "rows read from the head differ from its row count";

  // No row of the head breaks the suite's range or set checks (the bad
  // batch's rows did).
  int violations = 0, checked = 0;
  for (const iv1::Expectation& e : facts.dataset.expectations().expectations()) {
    if (!e.has_between() && !e.has_in_set()) continue;
    ++checked;
    int column = -1;
    for (int c = 0; c < facts.schema.columns_size(); ++c) {
      if (facts.schema.columns(c).name() == e.column()) column = c;
    }
    for (size_t r = 0; r < facts.head_rows.size(); ++r) {
      const std::string broken = Violation(e, column, facts.head_rows[r]);
      if (!broken.empty() && ++violations <= kReportedPerCheck) {
        ADD_FAILURE() << "head row " << r << ", column \"" << e.column() << "\": " << broken
                      << " of expectation \"" << e.name() << "\"";
      }
    }
  }
  EXPECT_GE(checked, 1) << "the suite has no range or set expectation to check the head against";
  EXPECT_EQ(violations, 0) << "head rows breaking the suite";

  // The rejection was counted, with its failing rows; committed versions and
  // rows agree with the chain.
  const std::map<std::string, std::string> dataset = {{"dataset", demo::kDataset}};
  const double rejected = SumSamples(ingestion_metrics, "mlops_ingestion_batches_total",
                                     {{"dataset", demo::kDataset}, {"outcome", "rejected"}});
  EXPECT_GE(rejected, 1) << "mlops_ingestion_batches_total{outcome=\"rejected\"} did not count the bad batch";
  EXPECT_GE(SumSamples(ingestion_metrics, "mlops_ingestion_validation_failures_total", dataset), rejected)
      << "mlops_ingestion_validation_failures_total counts fewer failing rows than rejected batches";
  EXPECT_EQ(SumSamples(ingestion_metrics, "mlops_ingestion_versions_total", dataset),
            static_cast<double>(facts.versions.size()))
      << "mlops_ingestion_versions_total differs from the versions listed";
  EXPECT_EQ(SumSamples(ingestion_metrics, "mlops_ingestion_rows_total", dataset),
            static_cast<double>(head.row_count()))
      << "mlops_ingestion_rows_total differs from the head's row count";
  std::printf("2. no version or lineage from %s among %zu; head %lld rows = accepted batches; "
              "%d range/set expectations hold on every head row; rejected batches counted: %g\n",
              bad_source.c_str(), facts.versions.size(), static_cast<long long>(head.row_count()),
              checked, rejected);
}

void ExpectPointInTimeFeaturesMatchHand(demo::PlatformClient& platform, const DatasetFacts& facts) {
  fv1::FeatureView view;
  {
    fv1::GetFeatureViewRequest request;
    request.set_name(demo::kView);
    auto context = platform.Context();
    const grpc::Status s = platform.features().GetFeatureView(context.get(), request, &view);
    ASSERT_TRUE(s.ok()) << "GetFeatureView " << demo::kView << ": " << s.error_message();
  }
  const fv1::FeatureViewSpec& spec = view.spec();
  int key = -1, ts = -1;
  for (int c = 0; c < facts.schema.columns_size(); ++c) {
    if (facts.schema.columns(c).name() == spec.entity_key_column()) key = c;
    if (facts.schema.columns(c).name() == spec.timestamp_column()) ts = c;
  }
  ASSERT_GE(key, 0) << "view key column " << spec.entity_key_column();
  ASSERT_GE(ts, 0) << "view timestamp column " << spec.timestamp_column();
  int64_t shortest = 0;
  for (const fv1::FeatureDefinition& f : spec.features()) {
    if (f.has_aggregation() && (shortest == 0 || f.aggregation().window_micros() < shortest)) {
      shortest = f.aggregation().window_micros();
    }
  }
  ASSERT_GT(shortest, 0) << "the view has no windowed aggregation";

  // Samples: a row in the middle of the history and the newest row; each
  // asked at its own time, 1 us before, one shortest window later (the event
  // then lies exactly at t - w: outside that window), and before the
  // customer's first event (unknown: all NULL).
  struct Query {
    cv1::Value entity;
    int64_t t;
    std::string what;
  };
  std::vector<Query> queries;
  for (size_t index : {facts.head_rows.size() / 2, facts.head_rows.size() - 1}) {
    const cv1::Row& row = facts.head_rows[index];
    const int64_t t0 = row.values(ts).timestamp_micros();
    int64_t first = t0;
    for (const cv1::Row& r : facts.head_rows) {
      if (r.values(key).SerializeAsString() == row.values(key).SerializeAsString()) {
        first = std::min(first, r.values(ts).timestamp_micros());
      }
    }
    const std::string who = absl::StrCat("head row ", index, " (", DescribeValue(row.values(key)), ")");
    queries.push_back({row.values(key), t0, who + " at its own time"});
    queries.push_back({row.values(key), t0 - 1, who + " 1 us before its event"});
    queries.push_back({row.values(key), t0 + shortest, who + " one shortest window after its event"});
    queries.push_back({row.values(key), first - 1, who + " before the customer's first event"});
  }

  fv1::GetHistoricalFeaturesRequest request;
  fv1::InlineEntityRows* in = request.mutable_inline_rows();
  cv1::Column* key_column = in->mutable_schema()->add_columns();
  key_column->set_name(spec.entity_key_column());
  key_column->set_type(facts.schema.columns(key).type());
  key_column->set_role(cv1::COLUMN_ROLE_ENTITY_KEY);
  cv1::Column* time_column = in->mutable_schema()->add_columns();
  time_column->set_name("as_of");
  time_column->set_type(cv1::DATA_TYPE_TIMESTAMP);
  time_column->set_role(cv1::COLUMN_ROLE_EVENT_TIMESTAMP);
  for (const Query& q : queries) {
    cv1::Row* row = in->add_rows();
    *row->add_values() = q.entity;
    row->add_values()->set_timestamp_micros(q.t);
  }
  request.add_feature_refs(absl::StrCat(demo::kView, "@", view.version(), ":*"));
  (*request.mutable_source_dataset_versions())[demo::kView] = facts.versions.back().id();
  auto context = platform.Context(std::chrono::milliseconds(120000));
  auto reader = platform.features().GetHistoricalFeatures(context.get(), request);
  fv1::GetHistoricalFeaturesResponse message;
  fv1::HistoricalFeaturesHeader header;
  std::vector<cv1::Row> out;
  while (reader->Read(&message)) {
    if (message.has_header()) header = message.header();
    for (const cv1::Row& row : message.chunk().rows()) out.push_back(row);
  }
  const grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << "GetHistoricalFeatures: " << s.error_message();
  ASSERT_EQ(header.views_size(), 1);
  EXPECT_EQ(header.views(0).source_dataset_version_id(), facts.versions.back().id())
      << "the features did not read the pinned head version";
  ASSERT_EQ(out.size(), queries.size()) << "one output row per input row";

  for (size_t q = 0; q < queries.size(); ++q) {
    const std::vector<cv1::Value> hand =
        HandComputedFeatures(spec, facts.schema, facts.head_rows, queries[q].entity, queries[q].t);
    ASSERT_EQ(out[q].values_size(), 2 + spec.features_size()) << "output row " << q;
    for (int k = 0; k < spec.features_size(); ++k) {
      const fv1::FeatureDefinition& f = spec.features(k);
      // Sums and means are accumulated in event order by both sides, so they
      // agree bit for bit (features.proto); only a stddev's square root of a
      // two-pass sum is compared to 1e-9 relative.
      const bool stddev =
          f.has_aggregation() && f.aggregation().function() == fv1::AGGREGATION_FUNCTION_STDDEV;
      EXPECT_TRUE(SameValue(out[q].values(2 + k), hand[k], stddev ? 1e-9 : 0))
          << demo::kView << "@" << view.version() << ":" << f.name() << " for " << queries[q].what
          << " (t = " << queries[q].t << "): the service says " << DescribeValue(out[q].values(2 + k))
          << ", by hand " << DescribeValue(hand[k]);
    }
  }
  // The samples exercise the edges: the event at t counts, and leaves the
  // shortest window exactly w later; before the first event all is NULL.
  for (size_t q = 0; q + 3 < queries.size(); q += 4) {
    const auto at = HandComputedFeatures(spec, facts.schema, facts.head_rows, queries[q].entity, queries[q].t);
    const auto before = HandComputedFeatures(spec, facts.schema, facts.head_rows, queries[q].entity, queries[q + 1].t);
    const auto unknown = HandComputedFeatures(spec, facts.schema, facts.head_rows, queries[q].entity, queries[q + 3].t);
    bool differs = false, all_null = true;
    for (int k = 0; k < spec.features_size(); ++k) {
      differs |= at[k].SerializeAsString() != before[k].SerializeAsString();
      all_null &= unknown[k].kind_case() == cv1::Value::KIND_NOT_SET;
    }
    EXPECT_TRUE(differs) << queries[q].what << ": the sampled event changes no feature";
    EXPECT_TRUE(all_null) << queries[q + 3].what << ": expected every feature NULL";
  }
  std::printf("3. %zu (customer, time) rows x %d features of %s@%lld compared with the hand computation\n",
              queries.size(), spec.features_size(), demo::kView, static_cast<long long>(view.version()));
}

}  // namespace mlops::testing_platform
