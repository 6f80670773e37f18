#pragma once
// The gRPC server every service runs: synchronous API bounded by a thread
// quota, completion queues for the hot methods of queue-driven services
// (queue_driven_service.h), the standard health service (grpc.health.v1,
// our synchronous HealthService), server reflection, message size limits,
// keepalive, the RPC-metrics interceptor, and an explicit lifecycle:
// Start -> SetServing(true) -> Shutdown (drain) -> destroyed.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics/rpc_metrics.h"
#include "common/server/health_service.h"
#include "common/server/queue_driven_service.h"
#include "common/server/interceptors.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace mlops {

struct GrpcKeepaliveOptions {
  // The server pings a connection that has been idle this long...
  absl::Duration time = absl::Seconds(60);
  // ...and closes it when the ping is not answered within this.
  absl::Duration timeout = absl::Seconds(20);
  // Accept client keepalive pings on connections that have no RPC in flight.
  bool permit_without_calls = true;
  // Client pings arriving more often than this are "strikes" (after 2 the
  // server sends GOAWAY). Must be <= the clients' keepalive time.
  absl::Duration min_ping_interval = absl::Seconds(10);
};

struct GrpcServerOptions {
  std::string service_name;      // e.g. "registry"; for logs
  std::string host = "0.0.0.0";  // "127.0.0.1" in tests
  int port = 0;                  // 0 = any free port; see GrpcServer::port()
  int max_threads = 64;          // ResourceQuota::SetMaxThreads; >= 2
  int max_message_bytes = 16 * 1024 * 1024;  // receive and send
  GrpcKeepaliveOptions keepalive;
  std::shared_ptr<grpc::ServerCredentials> credentials;  // null = insecure
  // Shutdown lets in-flight RPCs run this long, then cancels them.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Completion queues (each drained by a thread of its own) for the methods
  // of QueueDrivenServices (common/server/queue_driven_service.h); none
  // are made when no service is one. One by default: with gRPC 1.51's
  // epoll1 poller every thread waiting on a queue takes part in polling the
  // process's sockets, and the poller hands over to another waiting thread
  // after each event, so a second queue thread costs context switches on
  // every call (gateway, entity-key Predict at c=1: 2.7 per call with one,
  // 7.4 with two) and one thread is also the faster at c=32 on 2 cores.
  int completion_queues = 1;
  // How long those queues' threads poll for the next event before they
  // sleep (CompletionQueueThreads' busy polling): lower latency for CPU.
  // Zero (the default): off.
  absl::Duration busy_poll = absl::ZeroDuration();
  // Run before the RPC-metrics interceptor, in this order (e.g. auth).
  std::vector<std::shared_ptr<ServerInterceptorFactory>> interceptors;
};

// Owns the grpc::Server; does not own the services (they must outlive it) nor
// the RpcMetrics. Thread-safe: SetServing, Shutdown and Wait may be called from
// any thread.
class GrpcServer {
 public:
  // Builds, binds and starts the server. Health reports NOT_SERVING for ""
  // and for every registered service until SetServing(true).
  // InvalidArgument for bad options; FailedPrecondition (naming host:port)
  // when the address cannot be bound, e.g. because the port is taken.
  // `metrics` may be null (no RPC metrics).
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, std::vector<grpc::Service*> services,
      RpcMetrics* metrics);

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;
  ~GrpcServer();  // Shutdown() if not done yet

  // The bound port (the real one when options.port was 0).
  int port() const { return port_; }
  // Full names of the registered services, e.g. "mlops.registry.v1.RegistryService".
  const std::vector<std::string>& service_names() const { return service_names_; }
  grpc::Server* server() const { return server_.get(); }

  // Sets the health of "" and of every registered service. Ignored once
  // draining started (health stays NOT_SERVING).
  void SetServing(bool serving);
  bool serving() const;

  // From now on health reports NOT_SERVING and SetServing(true) is ignored;
  // RPCs are still accepted. Idempotent.
  void BeginDrain();
  // BeginDrain(), then stops accepting RPCs, lets in-flight ones finish within
  // shutdown_grace (then cancels them), and waits; then stops the
  // queue-driven services and their queues. Idempotent.
  void Shutdown();
  // Blocks until the server has shut down.
  void Wait();

 private:
  GrpcServer(GrpcServerOptions options, std::unique_ptr<HealthService> health,
             std::unique_ptr<ServerQueues> queues, std::unique_ptr<grpc::Server> server, int port,
             std::vector<std::string> service_names);
  void SetHealthLocked(bool serving) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const GrpcServerOptions options_;
  const std::unique_ptr<HealthService> health_;  // served; destroyed after the server
  const std::unique_ptr<ServerQueues> queues_;   // destroyed after the server
  const std::unique_ptr<grpc::Server> server_;
  const int port_;
  const std::vector<std::string> service_names_;

  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mlops
