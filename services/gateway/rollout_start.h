#pragma once
// Whether a rollout may start on an endpoint, judged across gateway
// replicas. Every replica shares the gateway schema; a SetRollout claims the
// endpoint's start row (gateway.rollout_starts) in one transaction that
// holds its row lock, so two replicas starting at once are serialized: the
// second sees the first's claim (being forwarded to the registry, or the
// rollout id the registry gave it) and is refused unless replace_active.
// DecideRolloutStart is the pure decision; EndpointStore implements the
// claim. Thread-safe (pure).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "services/gateway/rollout.h"

namespace mlops::gateway {

// What the shared store knows about an endpoint when a replica wants to
// start a rollout on it.
struct RolloutStartView {
  // The latest claim by a SetRollout on any replica (token empty: none, or
  // released).
  std::string claim_token;
  int64_t claimed_at_micros = 0;
  // The registry's id for the claimed rollout; empty while it is forwarded.
  std::string claimed_rollout_id;
  // Its state as a replica saved it; nullopt while no replica applied it.
  std::optional<RolloutState> claimed_rollout_state;
  // The endpoint's current rollout as replicas saved it (promotions too).
  std::string current_rollout_id;
  std::optional<RolloutState> current_rollout_state;
};

// Ok when a rollout may start on `endpoint` now. Without replace_active:
// FailedPrecondition naming the rollout in progress (saved active by a
// replica, or claimed and not yet applied anywhere within `claim_ttl_micros`);
// Aborted while another SetRollout is being forwarded to the registry (within
// the ttl: a replica that died mid-way does not block for longer).
absl::Status DecideRolloutStart(const std::string& endpoint, const RolloutStartView& view,
                                bool replace_active, int64_t now_micros,
                                int64_t claim_ttl_micros);

}  // namespace mlops::gateway
