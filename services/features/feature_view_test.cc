#include "services/features/feature_view.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mlops::features {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kHour = int64_t{3600} * 1000000;

SourceSchema Schema() {
  return SourceSchema{{
      {"customer_id", DataType::kInt64, false},
      {"event_time", DataType::kTimestamp, false},
      {"amount", DataType::kDouble, true},
      {"items", DataType::kInt64, true},
      {"country", DataType::kString, true},
      {"is_fraud", DataType::kBool, true},
      {"signup_time", DataType::kTimestamp, true},
  }};
}

FeatureViewDefinition View() {
  FeatureViewDefinition d;
  d.name = "customer_stats";
  d.entity_column = "customer_id";
  d.event_time_column = "event_time";
  d.source_dataset = "transactions";
  d.ttl_micros = 24 * kHour;
  d.features = {
      {"amount", "amount", Aggregation::kRaw, 0},
      {"amount_sum_1h", "amount", Aggregation::kSum, kHour},
      {"items_mean_7d", "items", Aggregation::kMean, 7 * 24 * kHour},
      {"country", "country", Aggregation::kLast, kHour},
      {"txn_count_1d", "is_fraud", Aggregation::kCount, 24 * kHour},
      {"first_signup", "signup_time", Aggregation::kMin, kHour},
  };
  return d;
}

absl::Status ValidateWith(void (*mutate)(FeatureViewDefinition&)) {
  FeatureViewDefinition d = View();
  mutate(d);
  return d.Validate(Schema());
}

TEST(NamingRuleTest, AcceptsLowercaseIdentifiersUpTo63Chars) {
  EXPECT_TRUE(IsValidName("a"));
  EXPECT_TRUE(IsValidName("amount_sum_7d"));
  EXPECT_TRUE(IsValidName(std::string(63, 'x')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidName("7d_sum"));
  EXPECT_FALSE(IsValidName("_x"));
  EXPECT_FALSE(IsValidName("Amount"));
  EXPECT_FALSE(IsValidName("a-b"));
  EXPECT_FALSE(IsValidName("x; DROP TABLE views"));
}

TEST(FeatureViewValidateTest, AcceptsValidDefinition) {
  EXPECT_TRUE(View().Validate(Schema()).ok()) << View().Validate(Schema());
}

TEST(FeatureViewValidateTest, RejectsBadNames) {
  absl::Status s = ValidateWith([](FeatureViewDefinition& d) { d.name = "Customer"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("name"));
  s = ValidateWith([](FeatureViewDefinition& d) { d.features[2].name = "items mean"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("features[2].name"));
  s = ValidateWith([](FeatureViewDefinition& d) { d.source_dataset = "'; drop"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(FeatureViewValidateTest, RejectsMissingColumns) {
  absl::Status s = ValidateWith([](FeatureViewDefinition& d) { d.entity_column = "user_id"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("entity_column"));
  s = ValidateWith([](FeatureViewDefinition& d) { d.event_time_column = "ts"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = ValidateWith([](FeatureViewDefinition& d) { d.features[1].source_column = "amt"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"amt\" is not in the dataset"));
}

TEST(FeatureViewValidateTest, RejectsWrongKeyAndTimeTypes) {
  absl::Status s = ValidateWith([](FeatureViewDefinition& d) { d.entity_column = "amount"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("INT64 or STRING"));
  s = ValidateWith([](FeatureViewDefinition& d) { d.event_time_column = "items"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("TIMESTAMP"));
}

TEST(FeatureViewValidateTest, RejectsAggregationsOfWrongType) {
  struct Case {
    const char* column;
    Aggregation aggregation;
    bool ok;
  };
  const Case cases[] = {
      {"country", Aggregation::kSum, false},    {"country", Aggregation::kMean, false},
      {"country", Aggregation::kStddev, false}, {"country", Aggregation::kMin, false},
      {"is_fraud", Aggregation::kSum, true},    {"is_fraud", Aggregation::kMax, false},
      {"is_fraud", Aggregation::kMean, true},   {"is_fraud", Aggregation::kStddev, true},
      {"signup_time", Aggregation::kSum, false}, {"signup_time", Aggregation::kMean, false},
      {"signup_time", Aggregation::kMax, true}, {"country", Aggregation::kCount, true},
      {"country", Aggregation::kLast, true},    {"is_fraud", Aggregation::kLast, true},
      {"items", Aggregation::kStddev, true},    {"amount", Aggregation::kMin, true},
  };
  for (const Case& c : cases) {
    FeatureViewDefinition d = View();
    d.features = {{"f", c.column, c.aggregation, kHour}};
    absl::Status s = d.Validate(Schema());
    EXPECT_EQ(s.ok(), c.ok) << c.column << " " << AggregationName(c.aggregation) << ": " << s;
    if (!c.ok) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(FeatureViewValidateTest, RejectsBadWindowsAndTtl) {
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) { d.features[1].window_micros = 0; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) { d.features[1].window_micros = -5; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) {
              d.features[1].window_micros = kMaxDurationMicros + 1;
            }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) { d.features[0].window_micros = kHour; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) { d.ttl_micros = -1; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateWith([](FeatureViewDefinition& d) { d.ttl_micros = 0; }).ok());
  EXPECT_TRUE(ValidateWith([](FeatureViewDefinition& d) {
                d.features[1].window_micros = kMaxDurationMicros;
              }).ok());
}

TEST(FeatureViewValidateTest, RejectsDuplicateOrMissingFeatures) {
  absl::Status s = ValidateWith([](FeatureViewDefinition& d) { d.features[3].name = "amount"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("defined twice"));
  EXPECT_EQ(ValidateWith([](FeatureViewDefinition& d) { d.features.clear(); }).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FeatureViewFingerprintTest, IdenticalDefinitionsHaveEqualFingerprints) {
  FeatureViewDefinition a = View();
  FeatureViewDefinition b = View();
  b.version = 7;  // the version is assigned, not defined
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(a.Fingerprint().size(), 64u);
  EXPECT_EQ(a.Fingerprint().find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(FeatureViewFingerprintTest, AnyChangeChangesTheFingerprint) {
  const std::string base = View().Fingerprint();
  std::vector<void (*)(FeatureViewDefinition&)> changes = {
      [](FeatureViewDefinition& d) { d.name = "customer_stats2"; },
      [](FeatureViewDefinition& d) { d.entity_column = "items"; },
      [](FeatureViewDefinition& d) { d.event_time_column = "signup_time"; },
      [](FeatureViewDefinition& d) { d.source_dataset = "payments"; },
      [](FeatureViewDefinition& d) { d.ttl_micros += 1; },
      [](FeatureViewDefinition& d) { d.features[1].window_micros += 1; },
      [](FeatureViewDefinition& d) { d.features[1].aggregation = Aggregation::kMean; },
      [](FeatureViewDefinition& d) { d.features[0].source_column = "items"; },
      [](FeatureViewDefinition& d) { d.features[0].name = "amount2"; },
      [](FeatureViewDefinition& d) { std::swap(d.features[0], d.features[1]); },
      [](FeatureViewDefinition& d) { d.features.pop_back(); },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    FeatureViewDefinition d = View();
    changes[i](d);
    EXPECT_NE(d.Fingerprint(), base) << "change " << i;
  }
}

TEST(FeatureViewFingerprintTest, FieldBoundariesAreUnambiguous) {
  FeatureViewDefinition a = View();
  FeatureViewDefinition b = View();
  a.features[0].name = "ab";
  a.features[0].source_column = "c";
  b.features[0].name = "a";
  b.features[0].source_column = "bc";
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
}

TEST(FeatureOutputTypeTest, FollowsAggregation) {
  EXPECT_EQ(FeatureOutputType(Aggregation::kCount, DataType::kString), DataType::kInt64);
  EXPECT_EQ(FeatureOutputType(Aggregation::kMean, DataType::kInt64), DataType::kDouble);
  EXPECT_EQ(FeatureOutputType(Aggregation::kStddev, DataType::kInt64), DataType::kDouble);
  EXPECT_EQ(FeatureOutputType(Aggregation::kSum, DataType::kInt64), DataType::kInt64);
  EXPECT_EQ(FeatureOutputType(Aggregation::kMax, DataType::kTimestamp), DataType::kTimestamp);
  EXPECT_EQ(FeatureOutputType(Aggregation::kRaw, DataType::kBool), DataType::kBool);
  EXPECT_EQ(FeatureOutputType(Aggregation::kLast, DataType::kString), DataType::kString);
}

}  // namespace
}  // namespace mlops::features
