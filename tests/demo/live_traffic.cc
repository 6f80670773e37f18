#include "tests/demo/live_traffic.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "tests/demo/loop_steps.h"

namespace mlops::demo {

absl::Status LiveTraffic::Tick() {
  const absl::Time now = absl::Now();
  const int64_t now_micros = absl::ToUnixMicros(now);
  // As many purchases as the rate asks for since the last tick (the calls
  // take time too), so that live traffic has the rate of the history.
  const absl::Duration elapsed =
      last_tick_ == absl::InfinitePast() ? absl::Seconds(1) : now - last_tick_;
  last_tick_ = now;
  const int count = std::max(1, static_cast<int>(absl::FDivDuration(elapsed, absl::Seconds(1)) * per_second_));
  const std::vector<Transaction> purchases =
      generator_.Generate(absl::ToUnixMicros(now - elapsed), now_micros, count);
  ++tick_;
  absl::Status status = absl::OkStatus();
  auto ingested = IngestTransactions(platform_, purchases, "demo:live");
  if (!ingested.ok()) {
    ++stats_.failed_calls;
    status = ingested.status();
  }
  const std::string prefix = absl::StrCat("live-", tick_);
  auto predicted = PredictForPurchases(platform_, purchases, prefix);
  if (predicted.ok()) {
    for (int i = 0; i < predicted->predictions_size(); ++i) {
      const auto& p = predicted->predictions(i);
      ++stats_.scored;
      ++stats_.scored_by_version[p.version()];
      pending_.push_back({p.request_id(), purchases[i].is_fraud, now + label_delay_});
    }
  } else {
    ++stats_.failed_calls;
    status = predicted.status();
  }
  absl::Status labels = SendDueLabels(now);
  return status.ok() ? labels : status;
}

absl::Status LiveTraffic::SendDueLabels(absl::Time now) {
  monitoring::v1::LogGroundTruthRequest request;
  while (!pending_.empty() && pending_.front().due <= now) {
    monitoring::v1::GroundTruth* label = request.add_labels();
    label->set_request_id(pending_.front().request_id);
    label->mutable_label()->set_bool_value(pending_.front().is_fraud);
    label->set_label_at_micros(absl::ToUnixMicros(now));
    label->set_model(kModel);
    pending_.pop_front();
  }
  if (request.labels_size() == 0) return absl::OkStatus();
  monitoring::v1::LogGroundTruthResponse response;
  auto context = platform_.Context();
  const grpc::Status status = platform_.monitoring().LogGroundTruth(context.get(), request, &response);
  if (!status.ok()) {
    ++stats_.failed_calls;
    return FromGrpcStatus(status);
  }
  stats_.labels_sent += request.labels_size();
  return absl::OkStatus();
}

}  // namespace mlops::demo
