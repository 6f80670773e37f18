#include "services/registry/stage_machine.h"

#include "absl/strings/str_cat.h"

namespace mlops::registry {

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kNone: return "NONE";
    case Stage::kStaging: return "STAGING";
    case Stage::kProduction: return "PRODUCTION";
    case Stage::kArchived: return "ARCHIVED";
  }
  return "UNKNOWN";
}

absl::Status CheckStageMove(Stage from, Stage to, bool staging_required) {
  auto illegal = [&](const char* why) {
    return absl::FailedPreconditionError(
        absl::StrCat("illegal transition ", StageName(from), " -> ", StageName(to), ": ", why));
  };
  if (from == to) return illegal("the version is already in that stage");
  switch (to) {
    case Stage::kArchived:
      return absl::OkStatus();
    case Stage::kStaging:
      return from == Stage::kProduction
                 ? illegal("a production version cannot move back to staging")
                 : absl::OkStatus();
    case Stage::kProduction:
      if (staging_required && from != Stage::kStaging) {
        return illegal("the gate policy requires STAGING before PRODUCTION");
      }
      return absl::OkStatus();
    case Stage::kNone:
      return from == Stage::kStaging ? absl::OkStatus()
                                     : illegal("only a staging version can move back to NONE");
  }
  return illegal("unknown stage");
}

}  // namespace mlops::registry
