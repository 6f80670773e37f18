// Fuzz target for the streaming CSV reader.
//
// Properties checked on every input (a violation aborts):
//   1. no crash, hang or memory error (sanitizers under clang);
//   2. the outcome (rows, or the error message) does not depend on how the
//      input is split into chunks: all at once == chunks of a size taken from
//      the input == byte by byte;
//   3. every row produced is valid for the schema (ValidateRow).
//
// Built two ways (services/ingestion/CMakeLists.txt):
//   - with clang: a libFuzzer binary (MLOPS_LIBFUZZER defined), run by CTest
//     for a bounded time under the label `fuzz`;
//   - with any compiler: this file's own main(), which replays a fixed seed
//     corpus and then N mutations drawn from a fixed-seed generator, so the
//     run is bounded and reproducible (CTest label `fuzz` as well).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "services/ingestion/csv.h"
#include "services/ingestion/schema_validation.h"
#include "services/ingestion/version_hash.h"

namespace mlops::ingestion {
namespace {

Schema FuzzSchema(bool allow_non_finite) {
  Schema s;
  s.columns = {MakeColumn("id", DataType::kInt64), MakeColumn("x", DataType::kDouble, true),
               MakeColumn("s", DataType::kString, true), MakeColumn("b", DataType::kBool, true),
               MakeColumn("t", DataType::kTimestamp, true)};
  s.columns[1].allow_non_finite = allow_non_finite;
  return s;
}

// Rows in canonical encoding (NaN-safe), or the error message.
std::string Outcome(const Schema& schema, const CsvOptions& options, std::string_view data,
                    size_t chunk) {
  CsvReader reader(schema, options);
  std::vector<Row> rows;
  absl::Status status;
  for (size_t pos = 0; pos < data.size() && status.ok(); pos += chunk) {
    status = reader.Feed(data.substr(pos, chunk), &rows);
  }
  if (status.ok()) status = reader.Finish(&rows);
  if (!status.ok()) return "error: " + std::string(status.message());
  std::string out = "ok:";
  for (size_t i = 0; i < rows.size(); ++i) {
    const absl::Status valid = ValidateRow(schema, rows[i], static_cast<int64_t>(i));
    if (!valid.ok()) {
      std::fprintf(stderr, "invalid row: %s\n", std::string(valid.message()).c_str());
      std::abort();
    }
    AppendCanonicalRow(rows[i], &out);
  }
  return out;
}

// Returns whether the input parsed without error.
bool RunOne(const uint8_t* bytes, size_t size) {
  if (size == 0) return false;
  // The first byte chooses the options and the chunk size.
  const uint8_t knobs = bytes[0];
  CsvOptions options;
  options.has_header = (knobs & 1) != 0;
  options.delimiter = (knobs & 2) != 0 ? ';' : ',';
  options.integer_timestamps_are_micros = (knobs & 4) != 0;
  options.max_record_bytes = (knobs & 8) != 0 ? 64 : 1 << 16;
  const Schema schema = FuzzSchema((knobs & 16) != 0);
  const std::string_view data(reinterpret_cast<const char*>(bytes + 1), size - 1);
  const size_t chunk = 1 + (knobs >> 5);
  const std::string whole = Outcome(schema, options, data, data.size() + 1);
  if (Outcome(schema, options, data, chunk) != whole || Outcome(schema, options, data, 1) != whole) {
    std::fprintf(stderr, "outcome depends on chunking (chunk %zu)\n", chunk);
    std::abort();
  }
  return whole.rfind("ok:", 0) == 0;
}

}  // namespace
}  // namespace mlops::ingestion

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mlops::ingestion::RunOne(data, size);
  return 0;
}

#ifndef MLOPS_LIBFUZZER
namespace {

// Seeds: the first byte is the knobs byte (see RunOne).
const char* const kSeeds[] = {
    "\x01id,x,s,b,t\n1,2.5,abc,true,2024-01-31T12:00:00Z\n2,,,,\n",
    "\x00" "1,nan,\"a,b\",0,2024-01-31T12:00:00.123456+01:00\r\n",
    "\x10" "3,-inf,\"x\"\"y\",1,1970-01-01T00:00:00Z\n",
    "\x01\xEF\xBB\xBFid,x,s,b,t\r\n7,1e308,\"multi\nline\",false,\r\n",
    "\x03id;x;s;b;t\n1;2;3;true;\n",
    "\x04" "9223372036854775807,0,,,1700000000\n",
    "\x00" "9223372036854775808,x,\"open\n",
    "\x01id,amount,s\n",
    "\x08" "1,,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,,\n",
    "\x00" "1,,\xff\xfe,,\n\n\r",
};

// Fragments that steer mutations towards the parser's special cases.
const char* const kTokens[] = {"\"", "\"\"", ",", ";", "\n", "\r\n", "\r", "nan", "-inf",
                               "true", "0", "+", "-", "1e999", "2024-02-29T23:59:59.999999Z",
                               "\xEF\xBB\xBF", "\xC3\xA9", "\xED\xA0\x80", "9223372036854775808"};

std::string Mutate(const std::string& input, std::mt19937_64& rng) {
  std::string s = input;
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 40) {
      case 0:  // flip a data byte
        if (pos > 0 && pos < s.size()) s[pos] = static_cast<char>(rng());
        break;
      case 1:  // new knobs (rarely: most knobs make the seed's shape wrong)
        if (!s.empty()) s[0] = static_cast<char>(rng());
        break;
      case 2:
      case 3:  // delete a range
        if (pos > 0 && pos < s.size()) s.erase(pos, 1 + rng() % 8);
        break;
      case 4:
      case 5:
      case 6:  // duplicate a range (often whole records)
        if (pos > 0 && pos < s.size()) s.insert(pos, s.substr(pos, 1 + rng() % 64));
        break;
      default:  // insert a token
        s.insert(pos == 0 ? 1 : pos, kTokens[rng() % (sizeof kTokens / sizeof kTokens[0])]);
        break;
    }
  }
  if (s.size() > 4096) s.resize(4096);
  return s;
}

}  // namespace

// Usage: csv_fuzz_driver [iterations] (default 20000).
int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 20000;
  std::vector<std::string> corpus;
  for (const char* seed : kSeeds) {
    // Seeds may start with a NUL knobs byte: take it, then the C string after it.
    const std::string rest(seed + 1);
    corpus.push_back(std::string(1, seed[0]) + rest);
  }
  const auto run = [](const std::string& input) {
    return mlops::ingestion::RunOne(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  };
  long parsed = 0;
  for (const std::string& input : corpus) parsed += run(input);
  std::mt19937_64 rng(20240131);
  for (long i = 0; i < iterations; ++i) {
    const std::string input = Mutate(corpus[rng() % corpus.size()], rng);
    const bool ok = run(input);
    parsed += ok;
    // Keep some inputs, favouring those that parse, as bases for later ones.
    if (corpus.size() < 256 && rng() % (ok ? 2 : 16) == 0) corpus.push_back(input);
  }
  std::printf("csv_fuzz_driver: %zu seeds + %ld mutations, %ld parsed without error; all "
              "properties held\n",
              sizeof kSeeds / sizeof kSeeds[0], iterations, parsed);
  return 0;
}
#endif  // MLOPS_LIBFUZZER
