#pragma once
// FakeK8sApi: a fake Kubernetes API server on 127.0.0.1 (plain HTTP) for
// the Kubernetes executor's tests: the Job, its pod list, and the pod's log,
// read whole or followed as a chunked stream that arrives in pieces over
// time (and may be cut). Owns its threads (one accepting, one per
// connection); the public fields are read and written under `mu`.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mlops::training::testing {

// A fake Kubernetes API: one thread per connection, one request per
// connection. The Job answers `pending_polls` GETs with an active status,
// then `final_status`. With `streaming`, the pod runs (the Job stays active)
// until `pod_done`, and a follow=true log request gets a chunked stream of
// `log` (lines from sinceTime's second on, as the API does) in pieces of
// `piece_bytes` every `piece_delay`, ended once the pod is done; the first
// follow connection is cut (no final chunk) after `drop_after_bytes`.
class FakeK8sApi {
 public:
  FakeK8sApi() : acceptor_(io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeK8sApi() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket s(io_);
    s.connect(acceptor_.local_endpoint(), ec);  // wakes the accept
    thread_.join();
    for (std::thread& t : workers_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

  std::mutex mu;
  int pending_polls = 2;
  std::string final_status = R"({"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}})";
  int exit_code = 0;
  int create_status = 201;
  std::vector<std::string> requests;  // "METHOD target"
  std::vector<std::string> auth;
  std::string created_body;
  // Streaming mode.
  bool streaming = false;
  std::vector<std::pair<std::string, std::string>> log;  // (RFC 3339 timestamp, text)
  std::size_t piece_bytes = 7;
  std::chrono::milliseconds piece_delay{15};
  std::size_t drop_after_bytes = 0;  // 0 = never
  std::vector<std::string> follows;  // targets of the follow requests
  std::atomic<bool> pod_done{false};

 private:
  void Serve() {
    for (int i = 0; i < 2000 && !stop_; ++i) {  // bounded
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      workers_.emplace_back([this, s = std::move(socket)]() mutable { Connection(std::move(s)); });
    }
  }

  void Connection(boost::asio::ip::tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::system::error_code ec;
    boost::beast::http::read(socket, buffer, req, ec);
    if (ec) return;
    const std::string target(req.target());
    bool stream = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      stream = streaming && target.find("/log?") != std::string::npos && target.find("follow=true") != std::string::npos;
    }
    if (stream) return StreamLog(socket, target);
    boost::beast::http::response<boost::beast::http::string_body> res = Handle(req);
    res.version(11);
    res.set(boost::beast::http::field::content_type, "application/json");
    res.prepare_payload();
    boost::beast::http::write(socket, res, ec);
  }

  // The followed log: chunked, in pieces over time, ended when the pod is done.
  void StreamLog(boost::asio::ip::tcp::socket& socket, const std::string& target) {
    std::string text;
    std::size_t drop = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back("GET " + target);
      follows.push_back(target);
      const std::size_t since_at = target.find("sinceTime=");
      const std::string since = since_at == std::string::npos ? "" : target.substr(since_at + 10, 19);
      for (const auto& [ts, line] : log) {
        if (ts.substr(0, 19) >= since) text += ts + " " + line + "\n";
      }
      if (follows.size() == 1) drop = drop_after_bytes;
    }
    boost::system::error_code ec;
    boost::asio::write(socket, boost::asio::buffer(std::string(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")), ec);
    std::size_t sent = 0;
    for (int i = 0; i < 10000 && sent < text.size() && !ec && !stop_; ++i) {  // bounded
      std::this_thread::sleep_for(piece_delay);
      const std::string piece = text.substr(sent, piece_bytes);
      char size[16];
      std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
      boost::asio::write(socket, boost::asio::buffer(size + piece + "\r\n"), ec);
      sent += piece.size();
      if (drop != 0 && sent >= drop) return;  // cut: the socket closes without the final chunk
    }
    for (int i = 0; i < 1000 && !pod_done && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (pod_done) boost::asio::write(socket, boost::asio::buffer(std::string("0\r\n\r\n")), ec);
  }

  boost::beast::http::response<boost::beast::http::string_body> Handle(const boost::beast::http::request<boost::beast::http::string_body>& req) {
    std::lock_guard<std::mutex> lock(mu);
    const std::string target(req.target());
    const std::string method(req.method_string());
    requests.push_back(method + " " + target);
    auth.push_back(std::string(req[boost::beast::http::field::authorization]));
    boost::beast::http::response<boost::beast::http::string_body> res;
    res.result(200);
    const std::string job_path = "/apis/batch/v1/namespaces/ml/jobs/mlops-train-run-0123456789abcdef";
    const bool running = streaming && !pod_done;
    if (method == "POST" && target == "/apis/batch/v1/namespaces/ml/jobs") {
      created_body = req.body();
      res.result(create_status);
      res.body() = create_status == 403 ? R"({"kind":"Status","message":"jobs.batch is forbidden"})" : req.body();
    } else if (method == "GET" && target == job_path) {
      res.body() = running || pending_polls-- > 0 ? R"({"status":{"active":1}})" : final_status;
    } else if (method == "DELETE" && target.rfind(job_path, 0) == 0) {
      res.body() = R"({"kind":"Status","status":"Success"})";
    } else if (method == "GET" && target.find("/api/v1/namespaces/ml/pods?labelSelector=job-name%3Dmlops-train-run-") == 0) {
      const std::string state = running ? R"("running":{"startedAt":"2026-11-23T06:00:00Z"})"
                                        : R"("terminated":{"exitCode":)" + std::to_string(exit_code) +
                                              (exit_code == 0 ? R"(,"reason":"Completed")" : R"(,"reason":"Error")") + "}";
      res.body() = R"({"items":[{"metadata":{"name":"trainer-pod"},"status":{"containerStatuses":[{"name":"trainer",
          "state":{)" + state + R"(}}]}}]})";
    } else if (method == "GET" && target.rfind("/api/v1/namespaces/ml/pods/trainer-pod/log", 0) == 0) {
      res.body() = "epoch 1 loss 0.5\ndone\n";
    } else {
      res.result(404);
      res.body() = R"({"kind":"Status","message":"not found"})";
    }
    return res;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;  // only Serve's thread adds; joined after it
};

}  // namespace mlops::training::testing
