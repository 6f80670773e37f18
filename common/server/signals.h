#pragma once
// Waiting for SIGTERM / SIGINT without a lock-taking signal handler: a
// boost::asio::signal_set turns the signal into an event on an io_context
// that the waiting thread runs.

#include <memory>

namespace mlops {

// Catches SIGTERM and SIGINT from construction until destruction: meanwhile
// they do not kill the process but are queued for Wait(). Owns an io_context
// and a signal_set. Not thread-safe: one thread calls Wait().
class TerminationSignals {
 public:
  TerminationSignals();
  ~TerminationSignals();
  TerminationSignals(const TerminationSignals&) = delete;
  TerminationSignals& operator=(const TerminationSignals&) = delete;

  // Blocks until SIGTERM or SIGINT arrives (or has arrived since
  // construction or since the last Wait) and returns its number.
  int Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience: catches SIGTERM / SIGINT, waits for one, returns its number.
// Signals that arrive before the call take their default action: construct a
// TerminationSignals early instead when that matters.
int WaitForTerminationSignal();

}  // namespace mlops
