#include "services/training/k8s_manifest.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace mlops::training {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value Num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value Obj(Struct s) {
  Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}

Value List(std::vector<Value> items) {
  Value v;
  for (Value& i : items) *v.mutable_list_value()->add_values() = std::move(i);
  return v;
}

Struct Fields(std::vector<std::pair<std::string, Value>> fields) {
  Struct s;
  for (auto& [k, v] : fields) (*s.mutable_fields())[k] = std::move(v);
  return s;
}

const Value* Get(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? nullptr : &it->second;
}

const Struct& StructAt(const Struct& s, const std::string& key) {
  const Value* v = Get(s, key);
  return v && v->has_struct_value() ? v->struct_value() : Struct::default_instance();
}

std::string StringAt(const Struct& s, const std::string& key) {
  const Value* v = Get(s, key);
  return v && v->kind_case() == Value::kStringValue ? v->string_value() : "";
}

const ListValue& ListAt(const Struct& s, const std::string& key) {
  const Value* v = Get(s, key);
  return v && v->has_list_value() ? v->list_value() : ListValue::default_instance();
}

absl::StatusOr<Struct> ParseJson(const std::string& json, const char* what) {
  Struct s;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, &s, options).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": not a JSON object: ", json.substr(0, 200)));
  }
  return s;
}

}  // namespace

std::string K8sJobName(const std::string& run_id) { return absl::StrCat("mlops-train-", run_id); }

absl::StatusOr<std::string> BuildJobManifest(const K8sJobOptions& o, const CommandInvocation& inv) {
  if (inv.image.empty()) return absl::InvalidArgumentError("trainer.command.image: required with the Kubernetes executor");
  if (o.work_pvc.empty()) {
    return absl::FailedPreconditionError("no work PVC configured (--k8s_work_pvc): the data cannot be handed over");
  }
  Struct labels = Fields({{"app.kubernetes.io/managed-by", Str("mlops-training")},
                          {"mlops.dev/run-id", Str(inv.run_id)},
                          {"mlops.dev/job-id", Str(inv.job_id)}});
  std::vector<Value> command, env;
  for (const std::string& a : inv.argv) command.push_back(Str(a));
  for (const auto& [k, v] : inv.env) {
    if (k == "MLOPS_TOKEN" && !o.token_secret.empty()) {
      Struct ref = Fields({{"name", Str(o.token_secret)}, {"key", Str("token")}});
      env.push_back(Obj(Fields({{"name", Str(k)}, {"valueFrom", Obj(Fields({{"secretKeyRef", Obj(ref)}}))}})));
    } else {
      env.push_back(Obj(Fields({{"name", Str(k)}, {"value", Str(v)}})));
    }
  }
  const std::string cpu = inv.cpu.empty() ? o.default_cpu : inv.cpu;
  const std::string memory = inv.memory.empty() ? o.default_memory : inv.memory;
  Struct amounts = Fields({{"cpu", Str(cpu)}, {"memory", Str(memory)}});
  Struct container = Fields({
      {"name", Str("trainer")},
      {"image", Str(inv.image)},
      {"imagePullPolicy", Str(o.image_pull_policy)},
      {"command", List(command)},
      {"workingDir", Str(inv.work_dir)},
      {"env", List(env)},
      {"resources", Obj(Fields({{"requests", Obj(amounts)}, {"limits", Obj(amounts)}}))},
      {"volumeMounts", List({Obj(Fields({{"name", Str("mlops-work")}, {"mountPath", Str(o.work_root)}}))})},
  });
  Struct pod_spec = Fields({
      {"restartPolicy", Str("Never")},
      {"terminationGracePeriodSeconds", Num(o.termination_grace_seconds)},
      {"containers", List({Obj(container)})},
      {"volumes", List({Obj(Fields({{"name", Str("mlops-work")},
                                    {"persistentVolumeClaim", Obj(Fields({{"claimName", Str(o.work_pvc)}}))}}))})},
  });
  if (!o.service_account.empty()) (*pod_spec.mutable_fields())["serviceAccountName"] = Str(o.service_account);
  const int64_t ms = inv.timeout.count();
  const double deadline_seconds = static_cast<double>(std::max<int64_t>(1, (ms + 999) / 1000));
  Struct job = Fields({
      {"apiVersion", Str("batch/v1")},
      {"kind", Str("Job")},
      {"metadata", Obj(Fields({{"name", Str(K8sJobName(inv.run_id))},
                               {"namespace", Str(o.namespace_name)},
                               {"labels", Obj(labels)}}))},
      {"spec", Obj(Fields({{"backoffLimit", Num(0)},
                           {"activeDeadlineSeconds", Num(deadline_seconds)},
                           {"ttlSecondsAfterFinished", Num(o.ttl_seconds_after_finished)},
                           {"template", Obj(Fields({{"metadata", Obj(Fields({{"labels", Obj(labels)}}))},
                                                    {"spec", Obj(pod_spec)}}))}}))},
  });
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(job, &out).ok()) {
    return absl::InternalError("the Job manifest could not be written as JSON");
  }
  return out;
}

absl::StatusOr<K8sJobStatus> ParseJobStatus(const std::string& json) {
  absl::StatusOr<Struct> job = ParseJson(json, "Job");
  if (!job.ok()) return job.status();
  const Struct& status = StructAt(*job, "status");
  K8sJobStatus out;
  for (const Value& c : ListAt(status, "conditions").values()) {
    const Struct& cond = c.struct_value();
    if (StringAt(cond, "status") != "True") continue;
    const std::string type = StringAt(cond, "type");
    if (type == "Complete") {
      out.phase = K8sJobPhase::kSucceeded;
    } else if (type == "Failed") {
      out.reason = StringAt(cond, "reason");
      out.message = StringAt(cond, "message");
      out.phase = out.reason == "DeadlineExceeded" ? K8sJobPhase::kDeadlineExceeded : K8sJobPhase::kFailed;
    }
  }
  const Value* succeeded = Get(status, "succeeded");
  if (out.phase == K8sJobPhase::kPending && succeeded && succeeded->number_value() >= 1) {
    out.phase = K8sJobPhase::kSucceeded;
  }
  return out;
}

absl::StatusOr<std::vector<K8sPodState>> ParsePodList(const std::string& json) {
  absl::StatusOr<Struct> list = ParseJson(json, "PodList");
  if (!list.ok()) return list.status();
  std::vector<K8sPodState> out;
  for (const Value& item : ListAt(*list, "items").values()) {
    K8sPodState pod;
    pod.name = StringAt(StructAt(item.struct_value(), "metadata"), "name");
    for (const Value& cs : ListAt(StructAt(item.struct_value(), "status"), "containerStatuses").values()) {
      if (StringAt(cs.struct_value(), "name") != "trainer") continue;
      const Struct& terminated = StructAt(StructAt(cs.struct_value(), "state"), "terminated");
      if (terminated.fields().empty()) continue;
      pod.terminated = true;
      const Value* code = Get(terminated, "exitCode");
      pod.exit_code = code ? static_cast<int>(code->number_value()) : -1;
      pod.reason = StringAt(terminated, "reason");
    }
    out.push_back(std::move(pod));
  }
  return out;
}

void PodLogLines::Feed(std::string_view data, const LineFn& emit) {
  constexpr std::size_t kMaxPartialBytes = std::size_t{1} << 20;  // a newline-free flood
  std::size_t start = 0;
  while (start < data.size()) {
    const std::size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) {
      partial_.append(data.substr(start));
      if (partial_.size() > kMaxPartialBytes) {
        Line(partial_, emit);
        partial_.clear();
      }
      return;
    }
    if (partial_.empty()) {
      Line(data.substr(start, nl - start), emit);
    } else {
      partial_.append(data.substr(start, nl - start));
      Line(partial_, emit);
      partial_.clear();
    }
    start = nl + 1;
  }
}

void PodLogLines::Finish(const LineFn& emit) {
  if (!partial_.empty()) Line(partial_, emit);
  partial_.clear();
}

std::string PodLogLines::Resume() {
  partial_.clear();
  skip_ = same_last_;
  if (!have_last_) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", last_, absl::UTCTimeZone());  // floors to the second
}

void PodLogLines::Line(std::string_view line, const LineFn& emit) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t space = line.find(' ');
  absl::Time t;
  std::string error;
  if (space == std::string_view::npos ||
      !absl::ParseTime(absl::RFC3339_full, std::string(line.substr(0, space)), &t, &error)) {
    ++lines_;
    emit(std::string(line));  // no timestamp: nothing to deduplicate by
    return;
  }
  if (have_last_ && t < last_) return;  // sent before the reconnect
  if (have_last_ && t == last_) {
    if (skip_ > 0) {
      --skip_;
      return;
    }
    ++same_last_;
  } else {
    have_last_ = true;
    last_ = t;
    same_last_ = 1;
    skip_ = 0;
  }
  ++lines_;
  emit(std::string(line.substr(space + 1)));
}

}  // namespace mlops::training
