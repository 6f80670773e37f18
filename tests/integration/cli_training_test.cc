// mlopsctl's feature and training commands against the real ingestion,
// feature and training binaries and Postgres: a feature view registered from
// a JSON file, a point-in-time training set exported to CSV (a value checked
// against one computed here from the generated events), a job with a small
// grid search submitted from a JSON spec and watched to success (exit 0), a
// job that fails at run time watched to failure (exit 1), runs listed and
// compared side by side, and the exit codes of wrong input.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "tests/integration/cli_platform_test.h"

namespace mlops::testing_platform {
namespace {

// How many times `pattern` matches in `text` (non-overlapping).
int CountMatches(const std::string& text, const std::string& pattern) {
  re2::StringPiece input(text);
  const RE2 re(pattern);
  int n = 0;
  while (RE2::FindAndConsume(&input, re)) ++n;
  return n;
}

using ::testing::HasSubstr;

constexpr char kView[] = R"({"name": "spend", "sourceDataset": "transactions",
  "entityKeyColumn": "customer_id", "timestampColumn": "ts",
  "features": [
    {"name": "last_amount", "raw": {"column": "amount"}},
    {"name": "spend_1h", "aggregation": {"function": "AGGREGATION_FUNCTION_SUM", "column": "amount",
                                         "windowMicros": "3600000000"}},
    {"name": "count_1h", "aggregation": {"function": "AGGREGATION_FUNCTION_COUNT",
                                         "windowMicros": "3600000000"}}],
  "materialization": "MATERIALIZATION_POLICY_MANUAL"})";

constexpr char kJob[] = R"({"experiment": "cli", "name": "cli grid",
  "data": {"dataset": "transactions", "featureRefs": ["spend:*"], "labelColumn": "is_fraud"},
  "trainer": {"kind": "TRAINER_KIND_XGBOOST_GBTREE", "objective": "OBJECTIVE_BINARY_LOGISTIC"},
  "hyperparameters": {"num_boost_round": "10"},
  "search": {"algorithm": "SEARCH_ALGORITHM_GRID",
             "parameters": [{"name": "max_depth", "intRange": {"min": 2, "max": 3}}]},
  "seed": "5"})";

constexpr int kEvents = 1500;
constexpr int kCustomers = 20;
const absl::Time kBase = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

// Event i: customer c<i % 20>, one minute apart, amount (37 i mod 100) + 0.5.
double Amount(int i) { return (i * 37) % 100 + 0.5; }
absl::Time EventTime(int i) { return kBase + absl::Minutes(i); }
std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

class CliTrainingTest : public CliPlatformTest {
 protected:
  void SetUp() override {
    StartPlatform({{"ingestion", MLOPS_INGESTION_PATH},
                   {"features", MLOPS_FEATURES_PATH},
                   {"training", MLOPS_TRAINING_PATH}});
  }
};

TEST_F(CliTrainingTest, RegisterExportSubmitWatchAndCompare) {
  // Data.
  ASSERT_EQ(
      Cli({"datasets", "create", "transactions", "--schema=" + WriteFile("tx.json", kTransactionsDefinition)})
          .exit_code,
      0);
  std::string events = "customer_id,ts,amount,is_fraud\n";
  for (int i = 0; i < kEvents; ++i) {
    absl::StrAppend(&events, "c", i % kCustomers, ",", Rfc3339(EventTime(i)), ",", Amount(i), ",",
                    Amount(i) > 80 ? "true" : "false", "\n");
  }
  CliResult ingested = Cli({"datasets", "ingest", "transactions", WriteFile("events.csv", events)});
  ASSERT_EQ(ingested.exit_code, 0) << ingested.output;

  // features register: new, then unchanged; wrong input.
  const std::string view = WriteFile("view.json", kView);
  CliResult registered = Cli({"features", "register", view});
  ASSERT_EQ(registered.exit_code, 0) << registered.output;
  EXPECT_THAT(registered.output, HasSubstr("registered spend@1"));
  EXPECT_THAT(registered.output, ::testing::ContainsRegex("spend_1h +double +sum\\(amount\\) over 1h"));
  CliResult again = Cli({"features", "register", view});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("unchanged: spend@1"));
  EXPECT_EQ(Cli({"features", "register", WriteFile("bad.json", "{\"name\": ")}).exit_code, 2);
  CliResult no_dataset = Cli({"features", "register",
                              WriteFile("orphan.json", R"({"name": "orphan", "sourceDataset": "nothing",
                                  "entityKeyColumn": "k", "features": [{"name": "f", "raw": {"column": "x"}}]})")});
  EXPECT_EQ(no_dataset.exit_code, 4) << no_dataset.output;

  // features export: the row (c3, event 1000 + 30 s) against values computed here.
  const absl::Time at = EventTime(1000) + absl::Seconds(30);
  const std::string entities = WriteFile(
      "entities.csv", absl::StrCat("customer_id,ts,label\nc3,", Rfc3339(at), ",1\nnobody,", Rfc3339(at), ",0\n"));
  const std::string out = absl::StrCat(platform_->dir(), "/training_set.csv");
  CliResult exported = Cli({"features", "export", "spend", "--entities", entities, "--out", out});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr("wrote 2 rows x 6 columns"));
  double last = 0, sum = 0;
  int count = 0;
  for (int i = 3; i < kEvents; i += kCustomers) {
    if (EventTime(i) > at) break;
    last = Amount(i);
    if (EventTime(i) > at - absl::Hours(1)) {
      sum += Amount(i);
      ++count;
    }
  }
  std::stringstream written;
  written << std::ifstream(out).rdbuf();
  std::vector<std::string> lines = absl::StrSplit(written.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << written.str();
  EXPECT_EQ(lines[0], "customer_id,ts,label,last_amount,spend_1h,count_1h");
  EXPECT_EQ(lines[1], absl::StrCat("c3,", Rfc3339(at), ",1,", last, ",", sum, ",", count));
  EXPECT_EQ(lines[2], absl::StrCat("nobody,", Rfc3339(at), ",0,,,"));  // unknown entity: NULLs
  CliResult from_dataset = Cli({"features", "export", "spend:count_1h", "--dataset", "transactions",
                                 "--out", out + ".all"});
  ASSERT_EQ(from_dataset.exit_code, 0) << from_dataset.output;
  EXPECT_THAT(from_dataset.output, HasSubstr(absl::StrCat("wrote ", kEvents, " rows x 5 columns")));
  CliResult unknown_view =
      Cli({"features", "export", "nope", "--entities", entities, "--out", out + ".2"});
  EXPECT_EQ(unknown_view.exit_code, 4) << unknown_view.output;

  // training submit + watch: a grid of two trials to success.
  CliResult submitted = Cli({"training", "submit", WriteFile("job.json", kJob)});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  std::string job;
  ASSERT_TRUE(RE2::PartialMatch(submitted.output, R"(submitted (job-[0-9a-f]+))", &job)) << submitted.output;
  CliResult watched = Cli({"training", "watch", job});
  ASSERT_EQ(watched.exit_code, 0) << watched.output;
  EXPECT_THAT(watched.output, ::testing::ContainsRegex("trial 0 run-[0-9a-f]+ succeeded objective="));
  EXPECT_THAT(watched.output, ::testing::ContainsRegex("job " + job + " succeeded: 2/2 trials succeeded"));
  // Watching the ended job again: its trials come from the terminal snapshot.
  CliResult rewatched = Cli({"training", "watch", job});
  ASSERT_EQ(rewatched.exit_code, 0) << rewatched.output;
  EXPECT_THAT(rewatched.output, ::testing::ContainsRegex("trial 1 run-[0-9a-f]+ succeeded objective="));
  // Each trial's final line once, whether it was seen live or in the snapshot.
  for (const std::string& out : {watched.output, rewatched.output}) {
    EXPECT_EQ(CountMatches(out, "trial 0 run-[0-9a-f]+ succeeded"), 1) << out;
    EXPECT_EQ(CountMatches(out, "trial 1 run-[0-9a-f]+ succeeded"), 1) << out;
  }
  EXPECT_THAT(rewatched.output, ::testing::ContainsRegex("job " + job + " succeeded: 2/2 trials succeeded"));

  // runs and compare.
  CliResult runs = Cli({"training", "runs", "--experiment", "cli"});
  ASSERT_EQ(runs.exit_code, 0) << runs.output;
  std::vector<std::string> run_ids;
  re2::StringPiece input(runs.output);
  std::string id;
  while (RE2::FindAndConsume(&input, R"((run-[0-9a-f]+))", &id)) run_ids.push_back(id);
  ASSERT_EQ(run_ids.size(), 2u) << runs.output;
  EXPECT_THAT(runs.output, HasSubstr(job + "#"));
  CliResult compared = Cli({"training", "compare", run_ids[0], run_ids[1]});
  ASSERT_EQ(compared.exit_code, 0) << compared.output;
  EXPECT_THAT(compared.output, ::testing::ContainsRegex("\\* param max_depth +[23] +[23]"));
  EXPECT_THAT(compared.output, ::testing::ContainsRegex("param num_boost_round +10 +10"));
  EXPECT_THAT(compared.output, HasSubstr("metric test_auc"));
  EXPECT_EQ(Cli({"training", "compare", run_ids[0], "run-0000000000000000"}).exit_code, 4);

  // A job that fails while running: watch exits 1 and says why.
  std::string failing = kJob;
  failing.replace(failing.find("\"num_boost_round\": \"10\""), std::string("\"num_boost_round\": \"10\"").size(),
                  "\"num_boost_round\": \"10\", \"max_depth\": \"deep\"");
  failing.replace(failing.find("\"search\""), failing.find("\"seed\"") - failing.find("\"search\""), "");
  CliResult doomed = Cli({"training", "submit", WriteFile("failing.json", failing), "--watch"});
  EXPECT_EQ(doomed.exit_code, 1) << doomed.output;
  EXPECT_THAT(doomed.output, HasSubstr("failed"));
  EXPECT_THAT(doomed.output, HasSubstr("hint: `mlopsctl training runs --job"));

  // Rejected at submission: a reserved hyperparameter (exit 5); unknown job (exit 4).
  std::string reserved = kJob;
  reserved.replace(reserved.find("\"num_boost_round\""), 0, "\"objective\": \"reg:linear\", ");
  CliResult rejected = Cli({"training", "submit", WriteFile("reserved.json", reserved)});
  EXPECT_EQ(rejected.exit_code, 5) << rejected.output;
  EXPECT_THAT(rejected.output, HasSubstr("objective"));
  EXPECT_EQ(Cli({"training", "watch", "job-0000000000000000"}).exit_code, 4);
}

}  // namespace
}  // namespace mlops::testing_platform
