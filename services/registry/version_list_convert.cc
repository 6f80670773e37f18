#include "services/registry/version_list_convert.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "services/registry/registry_convert.h"

namespace mlops::registry {
namespace {

bool IsMetricOrder(VersionOrder o) {
  return o == VersionOrder::kMetricDesc || o == VersionOrder::kMetricAsc;
}

// Metric order tokens: "metric|<model>|<version>|<value or empty if lacking>".
std::string EncodeMetricToken(const std::string& model, int64_t version,
                              std::optional<double> value) {
  return EncodeToken(absl::StrCat("metric|", model, "|", version, "|",
                                  value ? absl::StrFormat("%.17g", *value) : ""));
}

absl::Status DecodeMetricToken(const std::string& token, VersionFilter* f) {
  MLOPS_ASSIGN_OR_RETURN(std::string text, DecodeToken(token));
  std::vector<std::string> parts = absl::StrSplit(text, '|');
  double value = 0;
  if (parts.size() != 4 || parts[0] != "metric" ||
      !absl::SimpleAtoi(parts[2], &f->after_version) ||
      (!parts[3].empty() && !absl::SimpleAtod(parts[3], &value))) {
    return absl::InvalidArgumentError(
        "page.page_token: malformed, or made for another order");
  }
  f->after_model = parts[1];
  if (!parts[3].empty()) f->after_metric = value;
  return absl::OkStatus();
}

absl::StatusOr<MetricCondition> ConditionFromProto(const v1::MetricFilter& m,
                                                   const std::string& field) {
  if (m.metric().empty()) return absl::InvalidArgumentError(field + ".metric: required");
  if (m.comparison() < v1::COMPARISON_GREATER_OR_EQUAL || m.comparison() > v1::COMPARISON_LESS) {
    return absl::InvalidArgumentError(field + ".comparison: required");
  }
  if (!std::isfinite(m.value())) {
    return absl::InvalidArgumentError(field + ".value: must be finite");
  }
  MetricCondition c;
  c.metric = m.metric();
  c.comparison = static_cast<Comparison>(m.comparison());
  c.value = m.value();
  c.evaluation_name = m.evaluation_name().empty() ? "test" : m.evaluation_name();
  return c;
}

absl::StatusOr<VersionOrder> OrderFromProto(v1::ModelVersionOrder o) {
  switch (o) {
    case v1::MODEL_VERSION_ORDER_UNSPECIFIED:
    case v1::MODEL_VERSION_ORDER_VERSION_DESC: return VersionOrder::kVersionDesc;
    case v1::MODEL_VERSION_ORDER_VERSION_ASC: return VersionOrder::kVersionAsc;
    case v1::MODEL_VERSION_ORDER_METRIC_DESC: return VersionOrder::kMetricDesc;
    case v1::MODEL_VERSION_ORDER_METRIC_ASC: return VersionOrder::kMetricAsc;
    default: return absl::InvalidArgumentError(absl::StrCat("order: unknown value ", o));
  }
}

}  // namespace

absl::StatusOr<VersionFilter> VersionFilterFromProto(const v1::ListModelVersionsRequest& req) {
  VersionFilter f;
  if (!req.model().empty()) MLOPS_RETURN_IF_ERROR(CheckName(req.model(), "model"));
  f.model = req.model();
  for (int i = 0; i < req.stages_size(); ++i) {
    MLOPS_ASSIGN_OR_RETURN(Stage s,
                           StageFromProto(req.stages(i), absl::StrCat("stages[", i, "]")));
    f.stages.push_back(s);
  }
  for (const auto& kv : req.tags()) f.tags.emplace_back(kv.key(), kv.value());
  for (int i = 0; i < req.metric_filters_size(); ++i) {
    MLOPS_ASSIGN_OR_RETURN(MetricCondition c,
                           ConditionFromProto(req.metric_filters(i),
                                              absl::StrCat("metric_filters[", i, "]")));
    f.metrics.push_back(std::move(c));
  }
  f.run_id = req.run_id();
  if (!req.training_dataset_version().empty()) {
    MLOPS_RETURN_IF_ERROR(
        CheckSha256(req.training_dataset_version(), "training_dataset_version"));
  }
  f.training_dataset_version = req.training_dataset_version();
  f.created_from_micros = req.created().start_micros();
  f.created_to_micros = req.created().end_micros();
  if (f.created_to_micros != 0 && f.created_from_micros > f.created_to_micros) {
    return absl::InvalidArgumentError("created: start_micros after end_micros");
  }
  MLOPS_ASSIGN_OR_RETURN(f.order, OrderFromProto(req.order()));
  if (IsMetricOrder(f.order)) {
    if (req.order_metric().empty()) {
      return absl::InvalidArgumentError("order_metric: required by a METRIC order");
    }
    f.order_metric = req.order_metric();
    if (!req.order_evaluation_name().empty()) f.order_evaluation_name = req.order_evaluation_name();
  }
  if (!req.page().page_token().empty()) {
    if (IsMetricOrder(f.order)) {
      MLOPS_RETURN_IF_ERROR(DecodeMetricToken(req.page().page_token(), &f));
    } else {
      MLOPS_RETURN_IF_ERROR(
          DecodeVersionToken(req.page().page_token(), &f.after_model, &f.after_version));
    }
  }
  f.limit = PageSize(req.page().page_size()) + 1;
  return f;
}

std::string NextVersionPageToken(const VersionFilter& filter, const VersionRecord& last) {
  if (!IsMetricOrder(filter.order)) return EncodeVersionToken(last.model, last.version);
  return EncodeMetricToken(
      last.model, last.version,
      LatestMetricValue(last, filter.order_metric, filter.order_evaluation_name));
}

}  // namespace mlops::registry
