#pragma once
// Test helpers: rows of Values (std::monostate = NULL) to columnar batches,
// and event tables built from such rows in chunks. Header-only; tests only.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "services/features/event_table.h"
#include "services/features/feature_view.h"
#include "services/features/types.h"

namespace mlops::features::testing {

using Row = std::vector<Value>;

// Rows [begin, end) of `rows` as a batch positional against `schema`.
inline ColumnBatch RowsToBatch(const SourceSchema& schema, const std::vector<Row>& rows,
                               size_t begin = 0, size_t end = static_cast<size_t>(-1)) {
  end = std::min(end, rows.size());
  ColumnBatch batch;
  batch.num_rows = static_cast<int64_t>(end - begin);
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    ColumnVector col(schema.columns[c].type);
    for (size_t r = begin; r < end; ++r) {
      const Value& v = rows[r][c];
      const bool is_null = std::holds_alternative<std::monostate>(v);
      col.nulls.push_back(is_null ? 1 : 0);
      switch (col.type()) {
        case DataType::kInt64: col.values.ints.push_back(is_null ? 0 : std::get<int64_t>(v)); break;
        case DataType::kDouble: col.values.doubles.push_back(is_null ? 0 : std::get<double>(v)); break;
        case DataType::kString:
          col.values.strings.push_back(is_null ? "" : std::get<std::string>(v));
          break;
        case DataType::kBool: col.values.ints.push_back(!is_null && std::get<bool>(v)); break;
        case DataType::kTimestamp:
          col.values.ints.push_back(is_null ? 0 : std::get<TimestampMicros>(v).micros);
          break;
      }
    }
    batch.columns.push_back(std::move(col));
  }
  return batch;
}

// The event table of `rows`, appended chunk_rows rows at a time.
inline std::shared_ptr<const EventTable> BuildTable(const FeatureViewDefinition& def,
                                                    const SourceSchema& schema,
                                                    const std::vector<Row>& rows,
                                                    size_t chunk_rows = 7,
                                                    ThreadPool* pool = nullptr,
                                                    int64_t expected_rows = 0) {
  auto builder = EventTableBuilder::Create(def, schema, expected_rows);
  EXPECT_TRUE(builder.ok()) << builder.status();
  if (!builder.ok()) return nullptr;
  for (size_t b = 0; b < rows.size(); b += chunk_rows) {
    absl::Status s = (*builder)->Append(RowsToBatch(schema, rows, b, b + chunk_rows));
    EXPECT_TRUE(s.ok()) << s;
  }
  return (*builder)->Finish(pool);
}

// A TIMESTAMP value.
inline Value Ts(int64_t micros) { return TimestampMicros{micros}; }

}  // namespace mlops::features::testing
