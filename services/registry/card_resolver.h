#pragma once
// Fills a model card's lineage details and monitoring status from the other
// services: dataset versions with their validation reports (ingestion),
// feature view definitions (features), the training run with params and
// metrics (training), alerts and the latest drift summary (monitoring). A peer
// that is not configured, down, slow or does not know an id leaves that entry
// marked unavailable with the reason; the card is still produced.
// Thread-safe (PeerChannels is).

#include <chrono>

#include "common/peers/peer_channel.h"
#include "mlops/registry/v1/registry.pb.h"

namespace mlops::registry {

class CardResolver {
 public:
  virtual ~CardResolver() = default;
  virtual void Resolve(v1::ModelCard* card) const = 0;
};

class PeerCardResolver : public CardResolver {
 public:
  // `peers` may be null (every entry unavailable); `deadline` bounds each call.
  explicit PeerCardResolver(const PeerChannels* peers,
                            std::chrono::milliseconds deadline = std::chrono::milliseconds(2000))
      : peers_(peers), deadline_(deadline) {}

  void Resolve(v1::ModelCard* card) const override;

 private:
  void ResolveLineage(v1::ResolvedResource* resource) const;
  void ResolveMonitoring(v1::ModelCard* card) const;
  const PeerChannel* Peer(PeerService service, std::string* reason) const;

  const PeerChannels* peers_;
  std::chrono::milliseconds deadline_;
};

}  // namespace mlops::registry
