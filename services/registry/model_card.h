#pragma once
// Builds the ExportModelCard response from what the registry holds: the card
// proto, its JSON (protobuf JSON mapping) and a Markdown rendering for
// people. Lineage references are listed as recorded at registration, then
// resolved through `resolver` (dataset versions, feature views, the run, the
// monitoring status); without one they are marked unavailable. Thread-safe.
#include <string>

#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/card_resolver.h"
#include "services/registry/registry.h"

namespace mlops::registry {

// `generated_by`: the caller; `now_micros`: generation time.
v1::ExportModelCardResponse BuildModelCard(const ModelCardData& data,
                                           const std::string& generated_by, int64_t now_micros,
                                           const CardResolver* resolver = nullptr);

// The Markdown document of a card.
std::string ModelCardMarkdown(const v1::ModelCard& card);

}  // namespace mlops::registry
