#pragma once
// "name" (the head) or "name@<version id>" as a DatasetVersionRef. Pure.

#include <string>

#include "mlops/ingestion/v1/ingestion.pb.h"

namespace mlops::cli {

inline ingestion::v1::DatasetVersionRef ParseDatasetRef(const std::string& text) {
  ingestion::v1::DatasetVersionRef ref;
  const std::size_t at = text.find('@');
  ref.set_dataset(text.substr(0, at));
  if (at != std::string::npos) ref.set_version_id(text.substr(at + 1));
  return ref;
}

}  // namespace mlops::cli
