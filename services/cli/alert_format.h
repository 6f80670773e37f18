#pragma once
// Tables of `mlopsctl alerts ...` and `monitoring policy list`. Pure.

#include <ostream>
#include <string>

#include "mlops/monitoring/v1/monitoring.pb.h"

namespace mlops::cli {

// "feature_drift(amount) drifted", "auc <= 0.7", "error_rate >= 0.05".
std::string PolicyCondition(const monitoring::v1::AlertPolicy& policy);

void PrintAlerts(const monitoring::v1::ListAlertsResponse& alerts, std::ostream& out);
void PrintAlert(const monitoring::v1::Alert& alert, std::ostream& out);
void PrintAlertPolicies(const monitoring::v1::ListAlertPoliciesResponse& policies, std::ostream& out);

}  // namespace mlops::cli
