#include "services/registry/card_resolver.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "mlops/features/v1/features.grpc.pb.h"
#include "mlops/ingestion/v1/ingestion.grpc.pb.h"
#include "mlops/monitoring/v1/monitoring.grpc.pb.h"
#include "mlops/training/v1/training.grpc.pb.h"

namespace mlops::registry {
namespace {

namespace cv1 = ::mlops::common::v1;
constexpr int kMaxAlerts = 100;

std::string CompactJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

void MarkUnavailable(v1::ResolvedResource* resource, const std::string& reason) {
  resource->set_available(false);
  resource->set_unavailable_reason(reason);
}

void MarkResolved(v1::ResolvedResource* resource, const grpc::Status& status,
                  const google::protobuf::Message& details, const std::string& service) {
  if (!status.ok()) {
    MarkUnavailable(resource, absl::StrCat(service, ": ", status.error_message()));
    return;
  }
  resource->set_available(true);
  resource->clear_unavailable_reason();
  resource->set_details_json(CompactJson(details));
}

// "name@3" -> (name, 3).
bool SplitViewVersion(const std::string& id, std::string* name, int64_t* version) {
  const std::size_t at = id.rfind('@');
  if (at == std::string::npos) return false;
  *name = id.substr(0, at);
  return absl::SimpleAtoi(id.substr(at + 1), version);
}

std::string StateName(monitoring::v1::AlertState state) {
  switch (state) {
    case monitoring::v1::ALERT_STATE_PENDING: return "pending";
    case monitoring::v1::ALERT_STATE_FIRING: return "firing";
    case monitoring::v1::ALERT_STATE_RESOLVED: return "resolved";
    default: return "unknown";
  }
}

}  // namespace

const PeerChannel* PeerCardResolver::Peer(PeerService service, std::string* reason) const {
  if (peers_ == nullptr) {
    *reason = "this registry has no peers configured";
    return nullptr;
  }
  absl::StatusOr<const PeerChannel*> peer = peers_->Get(service);
  if (!peer.ok()) {
    *reason = absl::StrCat("no address configured for the ", std::string(PeerServiceName(service)),
                           " service (--", PeerAddressFlag(service), ")");
    return nullptr;
  }
  return *peer;
}

void PeerCardResolver::ResolveLineage(v1::ResolvedResource* resource) const {
  std::string reason;
  const cv1::ResourceRef& ref = resource->ref();
  switch (ref.kind()) {
    case cv1::RESOURCE_KIND_DATASET_VERSION: {
      const PeerChannel* peer = Peer(PeerService::kIngestion, &reason);
      if (peer == nullptr) return MarkUnavailable(resource, reason);
      ingestion::v1::GetDatasetVersionRequest request;
      request.mutable_version()->set_version_id(ref.id());
      request.set_include_report(true);
      ingestion::v1::DatasetVersion version;
      auto context = peer->NewContext(deadline_);
      const grpc::Status status = ingestion::v1::IngestionService::NewStub(peer->channel())
                                      ->GetDatasetVersion(context.get(), request, &version);
      return MarkResolved(resource, status, version, "ingestion");
    }
    case cv1::RESOURCE_KIND_FEATURE_VIEW_VERSION: {
      const PeerChannel* peer = Peer(PeerService::kFeatures, &reason);
      if (peer == nullptr) return MarkUnavailable(resource, reason);
      features::v1::GetFeatureViewRequest request;
      int64_t version = 0;
      std::string name;
      if (!SplitViewVersion(ref.id(), &name, &version)) {
        return MarkUnavailable(resource, "not a feature view version (name@version)");
      }
      request.set_name(name);
      request.set_version(version);
      features::v1::FeatureView view;
      auto context = peer->NewContext(deadline_);
      const grpc::Status status = features::v1::FeatureService::NewStub(peer->channel())
                                      ->GetFeatureView(context.get(), request, &view);
      return MarkResolved(resource, status, view, "features");
    }
    case cv1::RESOURCE_KIND_RUN: {
      const PeerChannel* peer = Peer(PeerService::kTraining, &reason);
      if (peer == nullptr) return MarkUnavailable(resource, reason);
      training::v1::GetRunRequest request;
      request.set_run_id(ref.id());
      training::v1::Run run;
      auto context = peer->NewContext(deadline_);
      const grpc::Status status = training::v1::TrainingService::NewStub(peer->channel())
                                      ->GetRun(context.get(), request, &run);
      return MarkResolved(resource, status, run, "training");
    }
    default:
      return MarkUnavailable(resource, "no service resolves this kind of reference");
  }
}

void PeerCardResolver::ResolveMonitoring(v1::ModelCard* card) const {
  v1::MonitoringStatus* status = card->mutable_monitoring();
  std::string reason;
  const PeerChannel* peer = Peer(PeerService::kMonitoring, &reason);
  if (peer == nullptr) {
    status->set_available(false);
    status->set_unavailable_reason(reason);
    return;
  }
  auto stub = monitoring::v1::MonitoringService::NewStub(peer->channel());
  monitoring::v1::ListAlertsRequest request;
  request.set_model(card->version().model());
  request.set_version(card->version().version());
  request.mutable_page()->set_page_size(kMaxAlerts);
  monitoring::v1::ListAlertsResponse alerts;
  auto context = peer->NewContext(deadline_);
  const grpc::Status listed = stub->ListAlerts(context.get(), request, &alerts);
  if (!listed.ok()) {
    status->set_available(false);
    status->set_unavailable_reason(absl::StrCat("monitoring: ", listed.error_message()));
    return;
  }
  status->set_available(true);
  status->clear_unavailable_reason();
  for (const monitoring::v1::Alert& alert : alerts.alerts()) {
    v1::AlertSummary* summary = status->add_alerts();
    summary->set_alert_id(alert.id());
    summary->set_policy(alert.policy());
    std::string metric = monitoring::v1::AlertMetric_Name(alert.metric());
    if (!alert.feature().empty()) absl::StrAppend(&metric, ":", alert.feature());
    summary->set_metric(metric);
    summary->set_severity(monitoring::v1::Severity_Name(alert.severity()));
    summary->set_state(StateName(alert.state()));
    summary->set_fired_at_micros(alert.fired_at_micros());
    summary->set_resolved_at_micros(alert.resolved_at_micros());
    summary->set_summary(alert.summary());
  }
  // The latest drift summary; a version without a reference or windows has none.
  monitoring::v1::GetDriftReportRequest drift_request;
  drift_request.set_model(card->version().model());
  drift_request.set_version(card->version().version());
  drift_request.set_include_open_window(true);
  drift_request.set_omit_histograms(true);
  monitoring::v1::DriftReport drift;
  auto drift_context = peer->NewContext(deadline_);
  if (stub->GetDriftReport(drift_context.get(), drift_request, &drift).ok()) {
    status->set_latest_drift_share(drift.drift_share());
    status->set_latest_dataset_drift(drift.dataset_drift());
  }
}

void PeerCardResolver::Resolve(v1::ModelCard* card) const {
  for (v1::ResolvedResource& resource : *card->mutable_lineage()) ResolveLineage(&resource);
  ResolveMonitoring(card);
}

}  // namespace mlops::registry
