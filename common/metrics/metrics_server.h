#pragma once
// The /metrics HTTP endpoint of one process: a prometheus-cpp Exposer bound to
// <host>:<port> that serves one shared Registry.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace mlops {

struct MetricsServerOptions {
  std::string host = "0.0.0.0";  // "127.0.0.1" in tests
  int port = 9090;                // 0 = any free port; see MetricsServer::port()
  int num_threads = 2;            // civetweb worker threads
};

// Owns the Exposer (the HTTP listener) and shares ownership of the Registry it
// serves at GET /metrics. Thread-safe: the registry may be updated from any
// thread while scrapes run. Destruction stops the listener (takes ~2 s:
// civetweb's shutdown).
class MetricsServer {
 public:
  // Binds and starts serving. `registry` may be null: a new one is created.
  // FailedPrecondition (naming host:port) when the address cannot be bound,
  // e.g. because the port is taken.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const MetricsServerOptions& options,
      std::shared_ptr<prometheus::Registry> registry = nullptr);

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();

  // The bound port (the real one when options.port was 0).
  int port() const { return port_; }
  prometheus::Registry& registry() const { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& shared_registry() const { return registry_; }

 private:
  MetricsServer(std::shared_ptr<prometheus::Registry> registry,
                std::unique_ptr<prometheus::Exposer> exposer, int port);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

}  // namespace mlops
