#pragma once
// SourceCatalog: CreateSource and ListSources. Checks a definition against
// its dataset (source_definition.h), stores it (SourceStore) and renders
// stored sources as v1.Source with their pull state (DSN passwords
// redacted). Thread-safe: stateless over thread-safe stores.
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/auth/role.h"
#include "mlops/ingestion/v1/ingestion.pb.h"
#include "services/ingestion/ingestion_store.h"
#include "services/ingestion/source_store.h"

namespace mlops::ingestion {

class SourceCatalog {
 public:
  // Does not own the stores (they must outlive it).
  SourceCatalog(IngestionStore* datasets, SourceStore* sources)
      : datasets_(datasets), sources_(sources) {}

  // Errors: InvalidArgument naming the field (also a CSV folder that is not
  // an existing directory), NotFound (dataset), AlreadyExists (name).
  absl::StatusOr<v1::Source> CreateSource(const Principal& who, const v1::CreateSourceRequest& req);
  // Errors: InvalidArgument (bad dataset name or page token), NotFound
  // (unknown dataset filter).
  absl::StatusOr<v1::ListSourcesResponse> ListSources(const v1::ListSourcesRequest& req);

  // The API form of a stored source (DSN password redacted).
  static absl::StatusOr<v1::Source> ToProto(const SourceRecord& record);

 private:
  IngestionStore* datasets_;
  SourceStore* sources_;
};

}  // namespace mlops::ingestion
