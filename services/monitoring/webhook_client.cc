#include "services/monitoring/webhook_client.h"

#include "absl/strings/str_cat.h"

namespace mlops::monitoring {

namespace {
constexpr char kUserAgent[] = "mlops-monitoring";
}  // namespace

std::unique_ptr<WebhookClient> WebhookClient::WithSystemCas() {
  return std::unique_ptr<WebhookClient>(new WebhookClient(HttpClient::WithSystemCas(kUserAgent)));
}

absl::StatusOr<std::unique_ptr<WebhookClient>> WebhookClient::WithCaFile(const std::string& ca_file) {
  absl::StatusOr<std::unique_ptr<HttpClient>> http = HttpClient::WithCaFile(ca_file, kUserAgent);
  if (!http.ok()) {
    return absl::Status(http.status().code(), absl::StrCat("webhook ", http.status().message()));
  }
  return std::unique_ptr<WebhookClient>(new WebhookClient(std::move(*http)));
}

absl::StatusOr<int> WebhookClient::PostJson(
    const std::string& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers, absl::Duration timeout) const {
  HttpCall call;
  call.method = "POST";
  call.url = url;
  call.headers.emplace_back("Content-Type", "application/json");
  call.headers.insert(call.headers.end(), headers.begin(), headers.end());
  call.body = body;
  call.timeout = timeout;
  absl::StatusOr<HttpAnswer> answer = http_->Send(call);
  if (!answer.ok()) return answer.status();
  return answer->status;
}

}  // namespace mlops::monitoring
