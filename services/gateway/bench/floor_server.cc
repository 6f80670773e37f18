#include "services/gateway/bench/floor_server.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/xgboost/xgb_booster.h"
#include "grpcpp/server_builder.h"
#include "mlops/inference/v1/inference.grpc.pb.h"

namespace mlops::gateway::bench {

namespace iv1 = ::mlops::inference::v1;

class FloorServer::Service final : public iv1::InferenceService::CallbackService {
 public:
  Service(xgb::XgbBooster booster, int cols) : booster_(std::move(booster)), cols_(cols) {}

  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* ctx, const iv1::PredictRequest* req,
                                    iv1::PredictResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (req->rows_size() != 1 || req->rows(0).features().values_size() != cols_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "one row of all features"));
      return reactor;
    }
    std::vector<float> x(static_cast<std::size_t>(cols_));
    for (int c = 0; c < cols_; ++c) {
      x[static_cast<std::size_t>(c)] = static_cast<float>(req->rows(0).features().values(c).double_value());
    }
    absl::StatusOr<xgb::Prediction> p = booster_.PredictDense(x.data(), 1, x.size());
    if (!p.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, std::string(p.status().message())));
      return reactor;
    }
    resp->set_request_id(req->request_id());
    resp->set_endpoint(req->endpoint());
    iv1::RowPrediction* out = resp->add_predictions();
    out->set_score(p->values[0]);
    out->set_model("bench");
    out->set_version(1);
    out->set_variant(iv1::VARIANT_PRIMARY);
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const xgb::XgbBooster booster_;
  const int cols_;
};

absl::StatusOr<std::unique_ptr<FloorServer>> FloorServer::Start(const std::string& model_json,
                                                                 int cols) {
  absl::StatusOr<xgb::XgbBooster> booster = xgb::XgbBooster::Load(model_json);
  if (!booster.ok()) return booster.status();
  if (absl::Status s = booster->SetParam("nthread", "1"); !s.ok()) return s;
  std::unique_ptr<FloorServer> out(new FloorServer());
  out->service_ = std::make_unique<Service>(std::move(*booster), cols);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &out->port_);
  builder.RegisterService(out->service_.get());
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr || out->port_ == 0) {
    return absl::FailedPreconditionError("floor server: cannot listen on 127.0.0.1");
  }
  return out;
}

FloorServer::~FloorServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace mlops::gateway::bench
