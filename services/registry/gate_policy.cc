#include "services/registry/gate_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"

namespace mlops::registry {
namespace {

std::string EvalName(const std::string& name) { return name.empty() ? "test" : name; }

bool Compare(double measured, Comparison c, double limit) {
  switch (c) {
    case Comparison::kGreaterOrEqual: return measured >= limit;
    case Comparison::kLessOrEqual: return measured <= limit;
    case Comparison::kGreater: return measured > limit;
    case Comparison::kLess: return measured < limit;
  }
  return false;
}

std::string Num(double v) { return absl::StrFormat("%.6g", v); }

}  // namespace

const char* ComparisonSymbol(Comparison c) {
  switch (c) {
    case Comparison::kGreaterOrEqual: return ">=";
    case Comparison::kLessOrEqual: return "<=";
    case Comparison::kGreater: return ">";
    case Comparison::kLess: return "<";
  }
  return "?";
}

absl::Status ValidateGatePolicy(const GatePolicy& policy) {
  for (const auto* gate : {&policy.staging, &policy.production}) {
    const char* stage = gate == &policy.staging ? "staging" : "production";
    for (size_t i = 0; i < gate->thresholds.size(); ++i) {
      const ThresholdCheck& t = gate->thresholds[i];
      if (t.metric.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(stage, ".thresholds[", i, "].metric: required"));
      }
      if (!std::isfinite(t.value)) {
        return absl::InvalidArgumentError(
            absl::StrCat(stage, ".thresholds[", i, "].value: must be finite"));
      }
    }
    for (size_t i = 0; i < gate->champion_challenger.size(); ++i) {
      const ChampionChallengerCheck& c = gate->champion_challenger[i];
      if (c.metric.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(stage, ".champion_challenger[", i, "].metric: required"));
      }
      if (!std::isfinite(c.min_improvement)) {
        return absl::InvalidArgumentError(absl::StrCat(
            stage, ".champion_challenger[", i, "].min_improvement: must be finite"));
      }
    }
    if (gate->approvals.count < 0 || gate->approvals.count > 10) {
      return absl::InvalidArgumentError(
          absl::StrCat(stage, ".approvals.count: must be in 0..10, got ", gate->approvals.count));
    }
  }
  return absl::OkStatus();
}

const StageGate* GateFor(const GatePolicy& policy, Stage target) {
  if (target == Stage::kStaging) return &policy.staging;
  if (target == Stage::kProduction) return &policy.production;
  return nullptr;
}

const EvaluationRecord* FindEvaluation(const VersionRecord& v, const std::string& name) {
  const std::string want = EvalName(name);
  const EvaluationRecord* found = nullptr;
  for (const EvaluationRecord& e : v.evaluations) {
    if (EvalName(e.name) != want) continue;
    if (found == nullptr || e.recorded_at_micros >= found->recorded_at_micros) found = &e;
  }
  return found;
}

CheckResult EvaluateThreshold(const ThresholdCheck& check, const VersionRecord& candidate) {
  CheckResult r;
  r.kind = CheckKind::kThreshold;
  r.metric = check.metric;
  r.limit = check.value;
  r.comparison = check.comparison;
  r.name = !check.name.empty()
               ? check.name
               : absl::StrCat("threshold ", check.metric, " ", ComparisonSymbol(check.comparison),
                              " ", Num(check.value));
  const EvaluationRecord* eval = FindEvaluation(candidate, check.evaluation_name);
  if (eval == nullptr) {
    r.outcome = CheckOutcome::kFailed;
    r.message = absl::StrCat("version ", candidate.version, " has no evaluation \"",
                             EvalName(check.evaluation_name), "\"");
    return r;
  }
  auto it = eval->metrics.find(check.metric);
  if (it == eval->metrics.end()) {
    r.outcome = CheckOutcome::kFailed;
    r.message = absl::StrCat("metric \"", check.metric, "\" missing from evaluation \"",
                             EvalName(check.evaluation_name), "\"");
    return r;
  }
  r.measured = it->second;
  r.candidate_value = it->second;
  r.outcome = Compare(r.measured, check.comparison, check.value) ? CheckOutcome::kPassed
                                                                 : CheckOutcome::kFailed;
  return r;
}

CheckResult EvaluateChampionChallenger(const ChampionChallengerCheck& check,
                                       const VersionRecord& candidate,
                                       const VersionRecord* champion) {
  CheckResult r;
  r.kind = CheckKind::kChampionChallenger;
  r.metric = check.metric;
  r.limit = check.min_improvement;
  r.comparison = Comparison::kGreaterOrEqual;
  r.name = !check.name.empty()
               ? check.name
               : absl::StrCat("champion/challenger ", check.metric,
                              check.relative ? " relative" : " absolute", " improvement >= ",
                              Num(check.min_improvement));
  const EvaluationRecord* eval = FindEvaluation(candidate, check.evaluation_name);
  if (eval == nullptr || eval->metrics.count(check.metric) == 0) {
    r.outcome = CheckOutcome::kFailed;
    r.message = absl::StrCat("candidate lacks metric \"", check.metric, "\" in evaluation \"",
                             EvalName(check.evaluation_name), "\"");
    return r;
  }
  r.candidate_value = eval->metrics.at(check.metric);
  if (champion == nullptr) {
    r.outcome = check.fail_if_no_champion ? CheckOutcome::kFailed : CheckOutcome::kPassed;
    r.message = check.champion_alias.empty()
                    ? "no champion"
                    : absl::StrCat("no champion: alias \"", check.champion_alias,
                                   "\" points at no other version");
    return r;
  }
  r.champion_version = champion->version;
  // The champion's most recent evaluation on the same dataset version.
  const EvaluationRecord* same = nullptr;
  for (const EvaluationRecord& e : champion->evaluations) {
    if (e.dataset_version != eval->dataset_version || e.metrics.count(check.metric) == 0) {
      continue;
    }
    if (same == nullptr || e.recorded_at_micros >= same->recorded_at_micros) same = &e;
  }
  if (same == nullptr) {
    r.outcome = CheckOutcome::kFailed;
    r.message = absl::StrCat("champion version ", champion->version, " has no \"", check.metric,
                             "\" on dataset ", eval->dataset_version,
                             " (add one with AddEvaluation)");
    return r;
  }
  r.champion_value = same->metrics.at(check.metric);
  double improvement = check.direction == Direction::kLowerIsBetter
                           ? r.champion_value - r.candidate_value
                           : r.candidate_value - r.champion_value;
  if (check.relative) {
    if (r.champion_value == 0) {
      r.outcome = CheckOutcome::kError;
      r.message = "champion value is 0: relative improvement undefined";
      return r;
    }
    improvement /= std::fabs(r.champion_value);
  }
  r.measured = improvement;
  r.outcome = improvement >= check.min_improvement ? CheckOutcome::kPassed : CheckOutcome::kFailed;
  return r;
}

GateReport EvaluateGate(const StageGate& gate, Stage target, const VersionRecord& candidate,
                        const VersionRecord* champion, int64_t policy_version, int64_t now_micros) {
  return EvaluateGate(
      gate, target, candidate, [champion](const std::string&) { return champion; },
      policy_version, now_micros);
}

GateReport EvaluateGate(const StageGate& gate, Stage target, const VersionRecord& candidate,
                        const ChampionLookup& champion_of, int64_t policy_version,
                        int64_t now_micros) {
  GateReport report;
  report.policy_version = policy_version;
  report.target_stage = target;
  report.evaluated_at_micros = now_micros;
  for (const ThresholdCheck& t : gate.thresholds) {
    report.checks.push_back(EvaluateThreshold(t, candidate));
  }
  for (const ChampionChallengerCheck& c : gate.champion_challenger) {
    report.checks.push_back(
        EvaluateChampionChallenger(c, candidate, champion_of(c.champion_alias)));
  }
  for (const CheckResult& c : report.checks) {
    if (c.outcome == CheckOutcome::kFailed || c.outcome == CheckOutcome::kError) {
      report.passed = false;
    }
  }
  return report;
}

void AddChecks(std::vector<CheckResult> extra, GateReport* report) {
  for (CheckResult& c : extra) {
    if (c.outcome == CheckOutcome::kFailed || c.outcome == CheckOutcome::kError) {
      report->passed = false;
    }
    report->checks.push_back(std::move(c));
  }
}

namespace {

std::string JoinDoubles(const std::vector<double>& values) {
  return absl::StrJoin(values, ",", [](std::string* out, double v) {
    absl::StrAppend(out, absl::StrFormat("%.17g", v));
  });
}

absl::Status SplitDoubles(absl::string_view text, std::vector<double>* out) {
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    double v = 0;
    if (!absl::SimpleAtod(part, &v)) return absl::DataLossError("check details: bad number");
    out->push_back(v);
  }
  return absl::OkStatus();
}

}  // namespace

// One line per group ("g\t<escaped name>\t<value>\t<count>") or mismatch
// ("m\t<row>\t<expected,...>\t<actual,...>").
std::string EncodeCheckDetails(const CheckResult& check) {
  std::string out;
  for (const GroupValue& g : check.groups) {
    absl::StrAppend(&out, "g\t", absl::CEscape(g.group), "\t", absl::StrFormat("%.17g", g.value),
                    "\t", g.count, "\n");
  }
  for (const Mismatch& m : check.mismatches) {
    absl::StrAppend(&out, "m\t", m.row, "\t", JoinDoubles(m.expected), "\t",
                    JoinDoubles(m.actual), "\n");
  }
  return out;
}

absl::Status DecodeCheckDetails(const std::string& blob, CheckResult* check) {
  for (absl::string_view line : absl::StrSplit(blob, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() != 4) return absl::DataLossError("check details: malformed line");
    if (f[0] == "g") {
      GroupValue g;
      std::string name;
      if (!absl::CUnescape(f[1], &name) || !absl::SimpleAtod(f[2], &g.value) ||
          !absl::SimpleAtoi(f[3], &g.count)) {
        return absl::DataLossError("check details: malformed group");
      }
      g.group = std::move(name);
      check->groups.push_back(std::move(g));
    } else if (f[0] == "m") {
      Mismatch m;
      if (!absl::SimpleAtoi(f[1], &m.row)) return absl::DataLossError("check details: bad row");
      MLOPS_RETURN_IF_ERROR(SplitDoubles(f[2], &m.expected));
      MLOPS_RETURN_IF_ERROR(SplitDoubles(f[3], &m.actual));
      check->mismatches.push_back(std::move(m));
    } else {
      return absl::DataLossError("check details: unknown line kind");
    }
  }
  return absl::OkStatus();
}

std::string DescribeFailures(const GateReport& report) {
  std::string out;
  for (const CheckResult& c : report.checks) {
    if (c.outcome != CheckOutcome::kFailed && c.outcome != CheckOutcome::kError) continue;
    if (!out.empty()) out += "; ";
    if (!c.message.empty() && c.measured == 0 && c.candidate_value == 0) {
      absl::StrAppend(&out, c.name, ": ", c.message);
    } else {
      absl::StrAppend(&out, c.name, ": measured ", Num(c.measured));
      if (c.kind == CheckKind::kChampionChallenger) {
        absl::StrAppend(&out, " (candidate ", Num(c.candidate_value), ", champion v",
                        c.champion_version, " ", Num(c.champion_value), ")");
      }
      if (!c.message.empty()) absl::StrAppend(&out, " (", c.message, ")");
    }
  }
  return out;
}

absl::Status CheckApprover(const Principal& approver, const std::string& requester,
                           Role required, const std::vector<std::string>& approved_by) {
  if (approver.name == requester) {
    return absl::PermissionDeniedError(absl::StrCat(
        "four eyes: ", approver.name, " requested this transition and cannot approve it"));
  }
  if (approver.role != Role::kAdmin && !RoleAtLeast(approver.role, required)) {
    return absl::PermissionDeniedError(absl::StrCat("approving needs role ", std::string(RoleName(required)),
                                                    "; ", approver.name, " is ",
                                                    std::string(RoleName(approver.role))));
  }
  if (std::find(approved_by.begin(), approved_by.end(), approver.name) != approved_by.end()) {
    return absl::AlreadyExistsError(absl::StrCat(approver.name, " already approved it"));
  }
  return absl::OkStatus();
}

}  // namespace mlops::registry
