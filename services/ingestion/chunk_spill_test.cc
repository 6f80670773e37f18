#include "services/ingestion/chunk_spill.h"

#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace mlops::ingestion {
namespace {

TEST(ChunkSpillTest, ReadsBackEveryChunkInOrderAndAgain) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto spill, ChunkSpill::Create());
  std::vector<ChunkData> in = {{2, "ab"}, {0, ""}, {5, std::string(100000, '\0') + "x"}};
  for (const auto& c : in) MLOPS_ASSERT_OK(spill->Append(c));
  EXPECT_EQ(spill->chunk_count(), 3u);
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<ChunkData> out;
    MLOPS_ASSERT_OK(spill->ForEach([&](const ChunkData& c) {
      out.push_back(c);
      return absl::OkStatus();
    }));
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out[i].row_count, in[i].row_count);
      EXPECT_EQ(out[i].rows, in[i].rows);
    }
  }
  // Appending after a read keeps the order.
  MLOPS_ASSERT_OK(spill->Append({1, "z"}));
  std::string last;
  MLOPS_ASSERT_OK(spill->ForEach([&](const ChunkData& c) {
    last = c.rows;
    return absl::OkStatus();
  }));
  EXPECT_EQ(last, "z");
}

TEST(ChunkSpillTest, ForEachStopsAtTheFirstError) {
  MLOPS_ASSERT_OK_AND_ASSIGN(auto spill, ChunkSpill::Create());
  MLOPS_ASSERT_OK(spill->Append({1, "a"}));
  MLOPS_ASSERT_OK(spill->Append({1, "b"}));
  int calls = 0;
  absl::Status s = spill->ForEach([&](const ChunkData&) {
    ++calls;
    return absl::AbortedError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mlops::ingestion
