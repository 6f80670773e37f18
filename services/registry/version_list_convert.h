#pragma once
// ListModelVersionsRequest <-> VersionFilter, and the page tokens of its
// orders. Pure functions; thread-safe.
#include <string>

#include "absl/status/statusor.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

// Checks the request (names, hashes, stages, metric filters, order, token)
// and builds the filter; InvalidArgument naming the field. `limit` is the page
// size plus one (to learn whether a next page exists).
absl::StatusOr<VersionFilter> VersionFilterFromProto(const v1::ListModelVersionsRequest& req);

// The token of the page after one that ended with `last`, under `filter`'s order.
std::string NextVersionPageToken(const VersionFilter& filter, const VersionRecord& last);

}  // namespace mlops::registry
