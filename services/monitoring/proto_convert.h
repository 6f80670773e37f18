#pragma once

// Conversions between the monitoring contract's messages and the domain's
// plain structs, and the validation of configuration and alert-policy
// messages. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/monitoring/v1/monitoring.pb.h"
#include "services/monitoring/window_drift.h"
#include "services/monitoring/window_store.h"

namespace mlops::monitoring {

inline constexpr int64_t kSecondMicros = 1'000'000;
inline constexpr int64_t kDayMicros = 86'400 * kSecondMicros;
// Request ids of predictions and labels: 1 .. 128 chars.
inline constexpr int kMaxRequestIdLength = 128;

// INVALID_ARGUMENT unless `model` follows the naming rule and version >= 1.
absl::Status ValidateModelVersion(const std::string& model, int64_t version);

// INVALID_ARGUMENT naming the field (e.g. `config.window_micros: 5000000 is
// outside 10 s .. 1 day`).
absl::Status ValidateMonitoringConfig(const v1::MonitoringConfig& config);
// The configuration with every 0 replaced by its documented default.
v1::MonitoringConfig EffectiveConfig(const v1::MonitoringConfig& config);
DriftSettings DriftSettingsFromConfig(const v1::MonitoringConfig& effective);

absl::Status ValidateAlertPolicy(const v1::AlertPolicy& policy);

// Reference histogram edges per numeric column (the windows' binning).
WindowBinning BinningOf(const ReferenceData& reference);


// A feature's value as the windows take it; `type` is the reference
// column's type (UNSPECIFIED when the feature has no reference column).
// INVALID_ARGUMENT when the value's kind does not match the type.
absl::StatusOr<LoggedValue> LoggedValueFromProto(const common::v1::Value& v, stats::DataType type);

void DriftReportToProto(const WindowDriftReport& report, bool omit_histograms,
                        v1::DriftReport* out);

}  // namespace mlops::monitoring
