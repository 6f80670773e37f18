#pragma once
// The feature service's online path for the gateway benchmark, for real:
// FeatureServiceImpl (GetOnlineFeatures as the service runs it: a raw
// callback method answering with OnlineServer's wire writer) over an
// in-memory catalog holding one view, "view"@1, keyed by an INT64 entity,
// with raw DOUBLE features f0..f<cols-1> (the refs of
// testing::TestSignature(cols)) materialized from one recent event per
// entity, served by the platform's GrpcServer (RPC metrics, feature metrics)
// on 127.0.0.1, as mlops-features serves it. No Postgres: the registry is
// only read on the error path (an unknown view), which the benchmark never
// takes. Thread-safe once started; owns everything it serves.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/peers/peer_channel.h"

namespace mlops::gateway::bench {

class FeatureServer {
 public:
  // Entities 0..entities-1 are known; each has one event less than a day old
  // (the view's TTL is 2 days). `busy_poll_us`: GrpcServerOptions::busy_poll
  // of its server (0: off).
  static absl::StatusOr<std::unique_ptr<FeatureServer>> Start(int cols, int64_t entities,
                                                              int busy_poll_us = 0);
  ~FeatureServer();
  // A channel to it (no token: auth is disabled here, as in the benchmark's
  // other servers).
  const PeerChannel* peer() const;
  int port() const;

 private:
  struct Parts;
  FeatureServer();
  std::unique_ptr<Parts> parts_;
};

}  // namespace mlops::gateway::bench
