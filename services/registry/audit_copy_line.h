#pragma once
// Parses one line of Postgres' COPY text format holding the audit log's
// columns (sequence, at_micros, principal, event_type, model, version,
// endpoint, request_id, before_json, after_json, reason, details_json,
// prev_hash, entry_hash) into an AuditEntry, reusing its strings' storage.
// Pure; thread-safe.
#include <string_view>

#include "services/registry/audit_chain.h"

namespace mlops::registry {

// False when the line is malformed (wrong field count, a NULL, a bad number).
bool ParseAuditCopyLine(std::string_view line, AuditEntry* out);

}  // namespace mlops::registry
