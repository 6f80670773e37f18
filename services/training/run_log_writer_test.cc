// RunLogWriter: batching, the timed flush, the per-run cap and store
// failures (a fake in-memory store); SanitizeLogText.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/training/run_log_writer.h"

namespace mlops::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Keeps appended batches in memory; fails while `fail` is set.
class FakeRunLogStore : public RunLogStore {
 public:
  absl::Status Append(const std::string& run_id, const std::vector<RunLogLine>& lines) override {
    if (fail) return absl::UnavailableError("down");
    batches.push_back(lines.size());
    for (const RunLogLine& l : lines) stored.push_back(run_id + " " + l.stream + ": " + l.text);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<RunLogLine>> Read(const std::string&, int64_t, int) override {
    return absl::UnimplementedError("not used");
  }
  bool fail = false;
  std::vector<std::size_t> batches;
  std::vector<std::string> stored;
};

TEST(RunLogWriterTest, FullBatchesAreStoredAtOnceAndTheRestAtFlush) {
  FakeRunLogStore store;
  int flushes = 0;
  RunLogWriterOptions o;
  o.batch_lines = 2;
  o.flush_interval = std::chrono::hours(1);
  RunLogWriter w(&store, "run-1", [] { return 7; }, [&] { ++flushes; }, o);
  w.Add("stdout", "a");
  EXPECT_TRUE(store.stored.empty());
  w.Add("stderr", "b");
  w.Add("stdout", "c");
  w.FlushIfDue();  // not due: an hour
  EXPECT_THAT(store.stored, ElementsAre("run-1 stdout: a", "run-1 stderr: b"));
  w.Flush();
  EXPECT_THAT(store.batches, ElementsAre(2u, 1u));
  EXPECT_EQ(flushes, 2);
  EXPECT_EQ(w.lines_stored(), 3);
}

TEST(RunLogWriterTest, AWaitingLineIsStoredOnceItIsOlderThanTheInterval) {
  FakeRunLogStore store;
  RunLogWriterOptions o;
  o.flush_interval = std::chrono::milliseconds(20);
  RunLogWriter w(&store, "run-1", [] { return 7; }, nullptr, o);
  w.Add("stdout", "first");
  w.FlushIfDue();
  EXPECT_TRUE(store.stored.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  w.FlushIfDue();
  EXPECT_THAT(store.stored, ElementsAre("run-1 stdout: first"));
}

TEST(RunLogWriterTest, LinesPastTheCapAreReplacedByOneSystemLine) {
  FakeRunLogStore store;
  RunLogWriterOptions o;
  o.max_lines = 2;
  {
    RunLogWriter w(&store, "run-1", [] { return 7; }, nullptr, o);
    for (int i = 0; i < 5; ++i) w.Add("stdout", std::to_string(i));
  }  // the destructor flushes
  ASSERT_EQ(store.stored.size(), 3u);
  EXPECT_EQ(store.stored[1], "run-1 stdout: 1");
  EXPECT_THAT(store.stored[2], HasSubstr("run-1 system: output beyond 2 lines is not streamed"));
}

TEST(RunLogWriterTest, AStoreErrorDropsThatBatchAndLaterBatchesStillGo) {
  FakeRunLogStore store;
  RunLogWriter w(&store, "run-1", [] { return 7; }, nullptr);
  store.fail = true;
  w.Add("stdout", "lost");
  w.Flush();
  store.fail = false;
  w.Add("stdout", "kept");
  w.Flush();
  EXPECT_THAT(store.stored, ElementsAre("run-1 stdout: kept"));
}

TEST(SanitizeLogTextTest, KeepsValidUtf8AndReplacesNulAndInvalidBytes) {
  EXPECT_EQ(SanitizeLogText("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");
  EXPECT_EQ(SanitizeLogText(std::string("a\0b", 3)), "a?b");
  EXPECT_EQ(SanitizeLogText("\xff\xc3"), "??");            // invalid, truncated
  EXPECT_EQ(SanitizeLogText("\xc0\xaf"), "??");            // overlong
  EXPECT_EQ(SanitizeLogText("\xed\xa0\x80"), "???");       // surrogate
}

}  // namespace
}  // namespace mlops::training
