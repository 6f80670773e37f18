#pragma once
// Conversions between the registry's protos and its domain structs, and the
// request shape checks (names, hashes) of the service layer. Pure functions;
// thread-safe.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "mlops/registry/v1/registry.pb.h"
#include "services/registry/audit_chain.h"
#include "services/registry/gate_policy.h"
#include "services/registry/registry_store.h"
#include "services/registry/registry_types.h"

namespace mlops::registry {

namespace pb = ::mlops::registry::v1;

// InvalidArgument naming `field` unless `name` is [a-z][a-z0-9_]{0,62}.
absl::Status CheckName(const std::string& name, const std::string& field);
// InvalidArgument naming `field` unless `hex` is 64 lowercase hex chars.
absl::Status CheckSha256(const std::string& hex, const std::string& field);
// Proto stage -> domain; InvalidArgument for UNSPECIFIED/unknown.
absl::StatusOr<Stage> StageFromProto(pb::Stage stage, const std::string& field);
pb::Stage StageToProto(Stage stage);

void ModelToProto(const ModelRecord& m, pb::Model* out);

// Checks the header's shape (names, signature, metrics, hashes) and builds
// the new version (without artifact bytes).
// The artifact_reference of a header: "sha256:<hex>" (a stored artifact) or
// "file:///abs/path" (imported; its sha256 is required). InvalidArgument
// naming the field.
absl::Status ArtifactReferenceFromProto(const pb::ArtifactReference& ref, NewVersion* nv);
absl::StatusOr<NewVersion> NewVersionFromHeader(const pb::RegisterModelVersionHeader& h);
// Checks an evaluation (name, dataset version, 1..256 finite metrics);
// InvalidArgument naming `field`.
absl::StatusOr<EvaluationRecord> EvaluationFromProto(const pb::Evaluation& e,
                                                     const std::string& field);
void VersionToProto(const VersionRecord& v, pb::ModelVersion* out);

absl::StatusOr<GatePolicy> PolicyFromProto(const pb::GatePolicy& p);
void PolicyToProto(const GatePolicy& p, pb::GatePolicy* out);

void TransitionToProto(const TransitionRecord& t, pb::TransitionRequest* out);
void AuditToProto(const AuditEntry& e, pb::AuditEntry* out);

// Page tokens: opaque strings; InvalidArgument when malformed.
std::string EncodeVersionToken(const std::string& model, int64_t version);
absl::Status DecodeVersionToken(const std::string& token, std::string* model, int64_t* version);
std::string EncodeToken(const std::string& text);
absl::StatusOr<std::string> DecodeToken(const std::string& token);
// Page size: 0 -> 100, clamped to 1000.
int PageSize(int requested);

}  // namespace mlops::registry
