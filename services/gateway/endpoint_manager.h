#pragma once
// EndpointManager: what every endpoint serves right now. Owns the endpoints'
// serving snapshots (immutable; replaced whole, so a hot swap never touches a
// request in flight), their rollouts' statistics, and the rollout lifecycle:
// start (SetRollout), analysis steps (Tick, from a background loop), manual
// and automatic rollback. SetRollout changes nothing by itself: it forwards the
// rollout to the registry (MANUAL_ROLLOUT) and waits until the registry's
// WatchDeployments stream brings it back into ApplyDesired. Every change is
// persisted (EndpointStore) before it is reported to the registry
// (DeploymentReporter); a restarted manager resumes from the store (Restore).
// Thread-safe: reads take a short lock to copy a shared_ptr; changes are
// serialized.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/endpoint_store.h"
#include "services/gateway/model_runtime.h"
#include "services/gateway/rollback_policy.h"
#include "services/gateway/rollout.h"
#include "services/gateway/variant_stats.h"

namespace mlops::gateway {

// Where endpoints and production versions are looked up (the registry).
class EndpointDirectory {
 public:
  virtual ~EndpointDirectory() = default;
  // The model an endpoint serves; NotFound for an unknown endpoint.
  virtual absl::StatusOr<std::string> EndpointModel(const std::string& endpoint) = 0;
  // The model's production version; NotFound when it has none.
  virtual absl::StatusOr<int64_t> ProductionVersion(const std::string& model) = 0;
};

// Same numbers as mlops.registry.v1.DeploymentEventType.
enum class DeploymentEventType { kRolloutStarted = 1, kStepAdvanced = 2, kCompleted = 3,
                                 kRolledBack = 4, kLoadFailed = 5, kManualRollout = 6 };

struct DeploymentEvent {
  std::string endpoint;
  DeploymentEventType type = DeploymentEventType::kRolloutStarted;
  std::string rollout_id;
  int64_t primary_version = 0;
  int64_t candidate_version = 0;
  int step = 0;
  double candidate_percent = 0;
  std::string spec_bytes;  // kManualRollout
  std::string reason;
  std::map<std::string, double> metrics;
  int64_t at_micros = 0;
};

// Tells the registry what happened (RecordDeploymentEvent). Thread-safe.
class DeploymentReporter {
 public:
  virtual ~DeploymentReporter() = default;
  // The rollout id the registry recorded the event under (empty if none; for
  // kManualRollout the id the registry assigned). The registry's status as is.
  virtual absl::StatusOr<std::string> Report(const DeploymentEvent& event) = 0;
};

// Counts what the manager does (metrics.h implements it). Thread-safe.
class RolloutObserver {
 public:
  virtual ~RolloutObserver() = default;
  virtual void RolledBack(const std::string& endpoint, bool automatic) = 0;
  virtual void RolloutState(const std::string& endpoint, int state, int step, double percent) = 0;
  virtual void ShadowAgreement(const std::string& endpoint, double rate) = 0;
};

// One endpoint as it serves now. Immutable once published.
struct Serving {
  std::string endpoint;
  std::string model;
  std::shared_ptr<const LoadedModel> primary;
  std::shared_ptr<const LoadedModel> candidate;  // set while a rollout has one
  std::shared_ptr<const LoadedModel> previous;   // kept loaded for a switch back
  std::optional<RolloutRecord> rollout;
  RolloutPlan plan;                     // of `rollout`
  std::shared_ptr<RolloutStats> stats;  // of `rollout`'s current step (mutable, thread-safe)
  int64_t generation = 0;
};

// A SetRollout request, validated by the service layer.
struct StartRollout {
  std::string endpoint;
  int64_t primary_version = 0;  // 0 = the endpoint's current primary (the registry's view)
  int64_t candidate_version = 0;
  RolloutPlan plan;
  std::string spec_bytes;
  std::string reason;
  bool replace_active = false;
  std::string principal;
};

// An endpoint's desired state as the registry streams it (WatchDeployments).
struct DesiredEndpoint {
  std::string endpoint;
  std::string model;
  int64_t primary_version = 0;  // 0: the model has no production version
  std::optional<RolloutRecord> rollout;  // the current or last rollout
  RolloutPlan plan;                      // of `rollout`
};

// Ids older gateways made up for rollouts run on one replica only, which the
// registry never knew. Such rows may still be in the gateway schema: Restore
// ends an active one (SUPERSEDED; the registry's stream says what to serve)
// and events about them are never reported.
inline constexpr char kLegacyLocalRolloutPrefix[] = "ro-gw-";

struct EndpointManagerOptions {
  std::function<int64_t()> now_micros;
  // Parses RolloutRecord::spec_bytes when restoring (rollout_convert.h).
  std::function<absl::StatusOr<RolloutPlan>(const std::string&)> parse_plan;
  // How long SetRollout waits for the accepted rollout to come back through
  // WatchDeployments before answering it as PENDING.
  std::chrono::milliseconds apply_wait{2000};
  // How long a SetRollout's claim (rollout_start.h) blocks other starts on
  // its endpoint while it is forwarded, or accepted but applied by no
  // replica yet (a replica that died mid-way blocks no longer).
  int64_t start_claim_ttl_micros = 30'000'000;
};

// What SetRollout answers: the rollout as the registry accepted it, and
// whether this replica already runs it (false: still PENDING here).
struct SetRolloutResult {
  RolloutRecord rollout;
  bool applied = false;
};

class EndpointManager {
 public:
  // None owned; all must outlive the manager. `observer` may be null.
  EndpointManager(ModelCache* cache, EndpointDirectory* directory, DeploymentReporter* reporter,
                  EndpointStore* store, RolloutObserver* observer, EndpointManagerOptions options);

  // Loads every persisted endpoint and its models; resumes active rollouts.
  // An endpoint whose models cannot be loaded now (registry down) is retried
  // by Tick and by its next Resolve; only the store failing is an error.
  absl::Status Restore();

  // The endpoint's serving snapshot, loading it from the registry the first
  // time: NotFound (unknown endpoint), FailedPrecondition (no production
  // version; model failed to load), Unavailable (registry down).
  absl::StatusOr<std::shared_ptr<const Serving>> Resolve(const std::string& endpoint);

  // Checks the request against this replica's state (candidate equal to the
  // primary: InvalidArgument; a rollout in progress without replace_active:
  // FailedPrecondition), then against every replica's through the store's
  // start claim (rollout_start.h: FailedPrecondition naming the rollout
  // another replica started, Aborted while another SetRollout is being
  // forwarded), forwards it to the registry (MANUAL_ROLLOUT; its
  // InvalidArgument / NotFound / FailedPrecondition as they are, Unavailable
  // when it is unreachable: nothing changed), then waits (apply_wait) until
  // the follower applied the registry's rollout id here. A candidate that
  // fails to load here is that load's error.
  absl::StatusOr<SetRolloutResult> SetRollout(const StartRollout& start);
  // Everything back to the primary at once; see InferenceService.Rollback.
  absl::StatusOr<RolloutRecord> Rollback(const std::string& endpoint, const std::string& reason,
                                         const std::string& principal);
  // Reconciles to the registry's desired state (endpoint_reconcile.cc): a
  // rollout this replica does not run yet starts (a promotion starts the
  // endpoint's configured strategy; PENDING is reported as started), one
  // finished elsewhere (rolled back, completed) is applied here without
  // being reported again, and without a rollout the primary follows the
  // production version. A new MANUAL rollout whose versions fail to load here
  // is reported (LOAD_FAILED, then ROLLED_BACK: this replica gives up on it).
  absl::Status ApplyDesired(const DesiredEndpoint& desired);

  // Runs one analysis of every active rollout and acts on it.
  void Tick();

  std::vector<std::shared_ptr<const Serving>> List() const;
  std::shared_ptr<const Serving> Find(const std::string& endpoint) const;
  AnalysisResult LastAnalysis(const std::string& endpoint) const;

 private:
  void Publish(std::shared_ptr<const Serving> serving);
  absl::Status RestoreOne(const EndpointRecord& record);  // change_mu_ held
  absl::Status Persist(const Serving& s);
  absl::Status Report(DeploymentEvent event);
  // Loads `d`'s rollout's primary and candidate into `s` (change_mu_ held).
  absl::Status LoadRolloutVersions(const DesiredEndpoint& d, Serving* s);
  void ReleaseStartClaim(const std::string& endpoint, const std::string& token);
  void RecordApplyFailure(const std::string& endpoint, const std::string& rollout_id,
                          const absl::Status& status);
  absl::Status ApplyRollback(std::shared_ptr<const Serving> s, const std::string& reason,
                             bool automatic, const AnalysisResult* analysis);
  void AnalyzeOne(const std::shared_ptr<const Serving>& s);

  ModelCache* const cache_;
  EndpointDirectory* const directory_;
  DeploymentReporter* const reporter_;
  EndpointStore* const store_;
  RolloutObserver* const observer_;
  const EndpointManagerOptions options_;

  std::mutex change_mu_;  // serializes changes (resolve-first-time, rollouts, ticks)
  mutable std::mutex mu_;  // guards the maps below
  std::map<std::string, std::shared_ptr<const Serving>> serving_;
  std::map<std::string, AnalysisResult> analysis_;
  // endpoint -> (rollout id, why it could not be applied here); for SetRollout.
  std::map<std::string, std::pair<std::string, absl::Status>> apply_failures_;
  std::condition_variable published_;  // with mu_: serving_ or apply_failures_ changed
  std::map<std::string, EndpointRecord> pending_restore_;  // change_mu_; failed to restore
  int64_t generation_ = 0;
};

}  // namespace mlops::gateway
