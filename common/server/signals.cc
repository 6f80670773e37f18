#include "common/server/signals.h"

#include <csignal>

#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"

namespace mlops {

struct TerminationSignals::Impl {
  boost::asio::io_context io;
  boost::asio::signal_set signals{io, SIGTERM, SIGINT};
};

TerminationSignals::TerminationSignals() : impl_(std::make_unique<Impl>()) {}

TerminationSignals::~TerminationSignals() = default;

int TerminationSignals::Wait() {
  int received = 0;
  // The completion handler runs on this thread, inside run(), not in signal
  // context: asio's own handler only writes to a pipe.
  impl_->signals.async_wait([&received](const boost::system::error_code& error, int signo) {
    if (!error) received = signo;
  });
  impl_->io.restart();
  impl_->io.run();
  return received;
}

int WaitForTerminationSignal() {
  TerminationSignals signals;
  return signals.Wait();
}

}  // namespace mlops
