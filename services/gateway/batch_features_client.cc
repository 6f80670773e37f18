#include "services/gateway/batch_features_client.h"

#include <cstdlib>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/status/status_macros.h"
#include "services/gateway/batch_stream.h"

namespace mlops::gateway {
namespace {

namespace fv1 = ::mlops::features::v1;
namespace cv1 = ::mlops::common::v1;

absl::Status Peer(const grpc::Status& s, const std::string& what = "") {
  if (s.ok()) return absl::OkStatus();
  const absl::Status status = FromGrpcStatus(s);
  return absl::Status(status.code(), absl::StrCat("features: ", what, status.message()));
}

struct ParsedRef {
  std::string view;
  int64_t version = 0;  // 0: the newest
  std::string feature;
};

// "view:feature" or "view@3:feature".
absl::StatusOr<ParsedRef> ParseRef(const std::string& ref, const std::string& input) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("model input \"", input, "\": feature_ref \"",
                                                   ref, "\" is not view[@version]:feature"));
  };
  const std::size_t colon = ref.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) return bad();
  ParsedRef out;
  out.feature = ref.substr(colon + 1);
  const std::string view = ref.substr(0, colon);
  const std::size_t at = view.find('@');
  out.view = view.substr(0, at);
  if (at != std::string::npos) {
    const std::string number = view.substr(at + 1);
    char* end = nullptr;
    out.version = std::strtoll(number.c_str(), &end, 10);
    if (number.empty() || end != number.c_str() + number.size() || out.version < 1) return bad();
  }
  if (out.view.empty() || out.feature == "*") return bad();
  return out;
}

}  // namespace

BatchFeaturesClient::BatchFeaturesClient(const PeerChannel* peer,
                                         std::chrono::milliseconds long_deadline)
    : peer_(peer),
      long_deadline_(long_deadline),
      stub_(fv1::FeatureService::NewStub(peer->channel())) {}

absl::StatusOr<std::vector<cv1::DataType>> BatchFeaturesClient::FeatureTypes(
    const std::vector<std::string>& refs, const std::vector<std::string>& inputs) {
  std::map<std::pair<std::string, int64_t>, fv1::FeatureView> views;  // each view fetched once
  std::vector<cv1::DataType> out;
  for (std::size_t k = 0; k < refs.size(); ++k) {
    const std::string& input = k < inputs.size() ? inputs[k] : refs[k];
    MLOPS_ASSIGN_OR_RETURN(ParsedRef ref, ParseRef(refs[k], input));
    const std::string field = absl::StrCat("model input \"", input, "\": feature_ref \"", refs[k], "\": ");
    auto it = views.find({ref.view, ref.version});
    if (it == views.end()) {
      fv1::GetFeatureViewRequest req;
      req.set_name(ref.view);
      req.set_version(ref.version);
      fv1::FeatureView view;
      std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext();
      MLOPS_RETURN_IF_ERROR(Peer(stub_->GetFeatureView(ctx.get(), req, &view), field));
      it = views.emplace(std::make_pair(ref.view, ref.version), std::move(view)).first;
    }
    bool found = false;
    for (const cv1::Column& c : it->second.feature_schema().columns()) {
      if (c.name() != ref.feature) continue;
      out.push_back(c.type());
      found = true;
      break;
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat(field, "view \"", ref.view, "\" version ",
                                              it->second.version(), " has no feature \"",
                                              ref.feature, "\""));
    }
  }
  return out;
}

absl::Status BatchFeaturesClient::Read(
    const HistoricalRead& read,
    const std::function<absl::Status(const fv1::HistoricalFeaturesHeader&)>& on_header,
    const std::function<absl::Status(const fv1::FeatureRowChunk&)>& on_chunk) {
  fv1::GetHistoricalFeaturesRequest req;
  req.mutable_dataset()->set_dataset(read.dataset);
  req.mutable_dataset()->set_version_id(read.version_id);
  for (const std::string& c : read.columns) req.mutable_dataset()->add_columns(c);
  req.set_entity_key_column(read.entity_key_column);
  req.set_timestamp_column(read.timestamp_column);
  for (const std::string& r : read.feature_refs) req.add_feature_refs(r);
  req.set_full_feature_names(true);  // never clashes with an input column
  std::unique_ptr<grpc::ClientContext> ctx = peer_->NewContext(long_deadline_);
  std::unique_ptr<grpc::ClientReader<fv1::GetHistoricalFeaturesResponse>> reader =
      stub_->GetHistoricalFeatures(ctx.get(), req);
  return DrainStream(
      ctx.get(), reader.get(),
      [&](const fv1::GetHistoricalFeaturesResponse& msg) {
        return msg.has_header() ? on_header(msg.header()) : on_chunk(msg.chunk());
      },
      [](const grpc::Status& s) { return Peer(s); });
}

}  // namespace mlops::gateway
