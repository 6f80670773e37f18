#pragma once

// Fetches a dataset version's profile from the ingestion service
// (IngestionService.GetProfile) over the shared peer channel. Thread-safe;
// the channel is not owned.

#include <string>

#include "common/peers/peer_channel.h"
#include "services/monitoring/monitoring_service.h"

namespace mlops::monitoring {

class IngestionProfileSource : public ProfileSource {
 public:
  explicit IngestionProfileSource(const PeerChannel* ingestion) : ingestion_(ingestion) {}

  absl::StatusOr<common::v1::DatasetProfile> GetDatasetProfile(
      const std::string& version_id) override;

 private:
  const PeerChannel* const ingestion_;
};

}  // namespace mlops::monitoring
