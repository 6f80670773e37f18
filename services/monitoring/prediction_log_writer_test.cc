// The prediction log's packed batches, their request ids' COPY text, and
// the writer's durable acknowledgements (sequence numbers, failed writes, the queue bound).
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/monitoring/prediction_copy_text.h"
#include "services/monitoring/prediction_log_batch.h"
#include "services/monitoring/prediction_log_writer.h"

namespace mlops::monitoring {
namespace {

PredictionLogBatch Batch(int rows, const std::string& prefix = "r") {
  PredictionLogBatch b("fraud", 3, "fraud_ep", 1);
  for (int i = 0; i < rows; ++i) {
    b.features_buffer()->append(std::string(1, static_cast<char>(i)) + "\xff");
    b.Add(prefix + std::to_string(i), 1000 + i, i % 2 == 0 ? std::optional<double>(0.25 * i)
                                                           : std::nullopt,
          "", 900, i % 2 == 0 ? "" : "UNAVAILABLE");
  }
  return b;
}

TEST(PredictionLogBatchTest, PacksRowsAndTruncates) {
  PredictionLogBatch b = Batch(3);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.request_id(1), "r1");
  EXPECT_EQ(b.features(2), std::string("\x02\xff", 2));
  EXPECT_EQ(b.score(2), 0.5);
  EXPECT_FALSE(b.score(1).has_value());
  EXPECT_EQ(b.error_code(1), "UNAVAILABLE");
  b.Truncate(1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.features(0), std::string("\x00\xff", 2));
  b.features_buffer()->append("zz");
  b.Add("again", 5, 1.0, "yes", 7, "");
  EXPECT_EQ(b.request_id(1), "again");
  EXPECT_EQ(b.features(1), "zz");
  EXPECT_EQ(b.predicted_label(1), "yes");
}

TEST(PredictionCopyTextTest, EscapesTextAndWritesIntegers) {
  std::string out;
  AppendCopyText("a\\b\tc\nd\re", &out);
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
  out.clear();
  AppendCopyInt(-42, &out);
  EXPECT_EQ(out, "-42");
}

TEST(PredictionCopyTextTest, OneRequestLinePerRow) {
  PredictionLogBatch b = Batch(2);
  b.features_buffer()->append("f");
  b.Add("tab\there", 5, 0.9, "fraud", 7, "");
  std::string out;
  AppendPredictionRequestCopyLines(b, 12, &out);
  EXPECT_EQ(out, "r0\t12\t0\tf\nr1\t12\t1\tf\ntab\\there\t12\t2\tt\n");
}

// Records what it was given; fails while `fail` is set.
class FakeSink : public PredictionLogSink {
 public:
  absl::Status AppendPredictions(const std::vector<PredictionLogBatch>& batches,
                                 int /*writer*/) override {
    absl::MutexLock lock(&mu);
    ++calls;
    if (fail) return absl::UnavailableError("down");
    for (const PredictionLogBatch& b : batches) {
      for (size_t i = 0; i < b.size(); ++i) ids.emplace_back(b.request_id(i));
    }
    return absl::OkStatus();
  }
  absl::Mutex mu;
  bool fail = false;
  int calls = 0;
  std::vector<std::string> ids;
};

TEST(PredictionLogWriterTest, WaitDurableWritesWithoutTheThreadAndNumbersRows) {
  FakeSink sink;
  PredictionLogWriter writer(&sink);
  const PredictionLogWriter::Queued a = writer.Enqueue(Batch(3, "a"));
  const PredictionLogWriter::Queued b = writer.Enqueue(Batch(2, "b"));
  EXPECT_EQ(a.last_seq, 3);
  EXPECT_EQ(b.last_seq, 5);
  ASSERT_TRUE(writer.WaitDurable(0, 5).ok());
  EXPECT_EQ(writer.written(), 5);
  EXPECT_EQ(sink.ids, (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1"}));
  EXPECT_EQ(sink.calls, 1);  // both batches in one transaction
}

TEST(PredictionLogWriterTest, FailedWriteIsNotAcknowledged) {
  FakeSink sink;
  PredictionLogWriter writer(&sink);
  writer.Start();
  {
    absl::MutexLock lock(&sink.mu);
    sink.fail = true;
  }
  const PredictionLogWriter::Queued a = writer.Enqueue(Batch(4));
  absl::Status s = writer.WaitDurable(0, a.last_seq);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(writer.failed(), 4);
  {
    absl::MutexLock lock(&sink.mu);
    sink.fail = false;
  }
  const PredictionLogWriter::Queued b = writer.Enqueue(Batch(2));
  EXPECT_TRUE(writer.WaitDurable(a.last_seq, b.last_seq).ok());
  EXPECT_EQ(writer.written(), 2);
  writer.Stop();
}

// Holds every write whose first request id is `held_id` until released;
// fails the ones whose first id is `failing_id`. Records each write's writer.
class GatedSink : public PredictionLogSink {
 public:
  absl::Status AppendPredictions(const std::vector<PredictionLogBatch>& batches,
                                 int writer) override {
    const std::string first(batches.front().request_id(0));
    absl::MutexLock lock(&mu);
    ++started;
    writers.insert(writer);
    if (first == held_id) {
      auto released = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return release; };
      mu.Await(absl::Condition(&released));
    }
    if (first == failing_id) return absl::UnavailableError("down");
    for (const PredictionLogBatch& b : batches) {
      for (size_t i = 0; i < b.size(); ++i) ids.emplace_back(b.request_id(i));
    }
    return absl::OkStatus();
  }
  void AwaitStarted(int n) {
    absl::MutexLock lock(&mu);
    auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return started >= n; };
    mu.Await(absl::Condition(&reached));
  }
  void AwaitWritten(size_t n) {
    absl::MutexLock lock(&mu);
    auto reached = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return ids.size() >= n; };
    mu.Await(absl::Condition(&reached));
  }
  void Release() {
    absl::MutexLock lock(&mu);
    release = true;
  }
  absl::Mutex mu;
  std::string held_id;
  std::string failing_id;
  bool release = false;
  int started = 0;
  std::set<int> writers;
  std::vector<std::string> ids;
};

// Two writer threads: batch "a" (rows 1..3) is held in the sink by one of
// them while the other writes batch "b" (rows 4..5).
struct HeldThenWritten {
  explicit HeldThenWritten(GatedSink* sink) : writer(sink, TwoWriters()) {
    sink->held_id = "a0";
    writer.Start();
    a = writer.Enqueue(Batch(3, "a"));
    sink->AwaitStarted(1);
    b = writer.Enqueue(Batch(2, "b"));
    sink->AwaitWritten(2);
  }
  static PredictionLogWriterOptions TwoWriters() {
    PredictionLogWriterOptions options;
    options.writers = 2;
    return options;
  }
  PredictionLogWriter writer;
  PredictionLogWriter::Queued a;
  PredictionLogWriter::Queued b;
};

TEST(PredictionLogWriterTest, TwoWritersAcknowledgeARowOnlyWithEveryEarlierRowDone) {
  GatedSink sink;
  HeldThenWritten run(&sink);
  PredictionLogWriter& writer = run.writer;
  const PredictionLogWriter::Queued& a = run.a;
  const PredictionLogWriter::Queued& b = run.b;
  // The writer counts rows 4..5 once the sink returns (bounded wait: 10 s).
  for (int i = 0; i < 10'000 && writer.written() < 2; ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(writer.written(), 2);
  EXPECT_EQ(writer.durable_seq(), 0);  // rows 1..3 are not done yet
  sink.Release();
  EXPECT_TRUE(writer.WaitDurable(0, b.last_seq).ok());
  EXPECT_EQ(a.last_seq, 3);
  EXPECT_EQ(writer.durable_seq(), 5);
  EXPECT_EQ(writer.written(), 5);
  writer.Stop();
  EXPECT_EQ(sink.writers, (std::set<int>{0, 1}));  // each as its own writer
}

TEST(PredictionLogWriterTest, AnEarlierRoundFailingAfterALaterOneFailsOnlyItsRows) {
  GatedSink sink;
  sink.failing_id = "a0";
  HeldThenWritten run(&sink);
  PredictionLogWriter& writer = run.writer;
  const PredictionLogWriter::Queued& a = run.a;
  const PredictionLogWriter::Queued& b = run.b;
  sink.Release();
  EXPECT_TRUE(absl::IsUnavailable(writer.WaitDurable(0, a.last_seq)));
  EXPECT_TRUE(writer.WaitDurable(a.last_seq, b.last_seq).ok());
  EXPECT_EQ(writer.failed(), 3);
  EXPECT_EQ(writer.written(), 2);
  writer.Stop();
}

TEST(PredictionLogWriterTest, QueueBoundDropsTheBatchTail) {
  FakeSink sink;
  PredictionLogWriterOptions options;
  options.max_queued_rows = 5;
  PredictionLogWriter writer(&sink, options);
  EXPECT_EQ(writer.Enqueue(Batch(3)).dropped, 0);
  const PredictionLogWriter::Queued q = writer.Enqueue(Batch(4, "x"));
  EXPECT_EQ(q.dropped, 2);
  EXPECT_EQ(q.last_seq, 5);
  EXPECT_EQ(writer.Enqueue(Batch(1)).last_seq, 0);  // full: nothing queued
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(sink.ids.back(), "x1");
  EXPECT_EQ(writer.dropped(), 3);
}

}  // namespace
}  // namespace mlops::monitoring
