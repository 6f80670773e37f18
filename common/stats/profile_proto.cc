#include "common/stats/profile_proto.h"

#include <utility>

namespace mlops::stats {

void ColumnProfileToProto(const ColumnProfile& c, common::v1::ColumnProfile* out) {
  out->set_name(c.name);
  out->set_type(static_cast<common::v1::DataType>(c.type));
  out->set_count(c.count);
  out->set_null_count(c.null_count);
  out->set_min(c.min);
  out->set_max(c.max);
  out->set_mean(c.mean);
  out->set_stddev(c.stddev);
  out->set_m2(c.m2);
  out->set_non_finite_count(c.non_finite_count);
  for (const QuantileValue& q : c.quantiles) {
    common::v1::Quantile* pq = out->add_quantiles();
    pq->set_q(q.q);
    pq->set_value(q.value);
  }
  common::v1::Histogram* h = out->mutable_histogram();
  for (double edge : c.histogram.edges) h->add_edges(edge);
  for (int64_t count : c.histogram.counts) h->add_counts(count);
  h->set_underflow(c.histogram.underflow);
  h->set_overflow(c.histogram.overflow);
  for (const CategoryCount& cc : c.top_categories) {
    common::v1::CategoryCount* pc = out->add_top_categories();
    pc->set_value(cc.value);
    pc->set_count(cc.count);
  }
  out->set_other_category_count(c.other_category_count);
  out->set_distinct_estimate(c.distinct_estimate);
  out->set_quantile_sketch(c.quantile_sketch);
  out->set_distinct_sketch(c.distinct_sketch);
}

ColumnProfile ColumnProfileFromProto(const common::v1::ColumnProfile& p) {
  ColumnProfile c;
  c.name = p.name();
  c.type = static_cast<DataType>(p.type());
  c.count = p.count();
  c.null_count = p.null_count();
  c.min = p.min();
  c.max = p.max();
  c.mean = p.mean();
  c.stddev = p.stddev();
  c.m2 = p.m2();
  c.non_finite_count = p.non_finite_count();
  for (const common::v1::Quantile& q : p.quantiles()) c.quantiles.push_back({q.q(), q.value()});
  c.histogram.edges.assign(p.histogram().edges().begin(), p.histogram().edges().end());
  c.histogram.counts.assign(p.histogram().counts().begin(), p.histogram().counts().end());
  c.histogram.underflow = p.histogram().underflow();
  c.histogram.overflow = p.histogram().overflow();
  for (const common::v1::CategoryCount& cc : p.top_categories()) {
    c.top_categories.push_back({cc.value(), cc.count()});
  }
  c.other_category_count = p.other_category_count();
  c.distinct_estimate = p.distinct_estimate();
  c.quantile_sketch = p.quantile_sketch();
  c.distinct_sketch = p.distinct_sketch();
  return c;
}

void DatasetProfileToProto(const DatasetProfile& profile, common::v1::DatasetProfile* out) {
  out->Clear();
  out->set_row_count(profile.row_count);
  for (const ColumnProfile& c : profile.columns) ColumnProfileToProto(c, out->add_columns());
}

DatasetProfile DatasetProfileFromProto(const common::v1::DatasetProfile& profile) {
  DatasetProfile out;
  out.row_count = profile.row_count();
  for (const common::v1::ColumnProfile& p : profile.columns()) {
    out.columns.push_back(ColumnProfileFromProto(p));
  }
  return out;
}

}  // namespace mlops::stats
