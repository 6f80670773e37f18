#include "services/monitoring/ecdf_comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mlops::monitoring {
namespace {

// The best (largest) ECDF difference seen on one side, SciPy's tie rule:
// numpy.argmax returns the first position in data_all = [sorted a, sorted b],
// so among equal values a point present in `a` wins over one only in `b`,
// and otherwise the smallest value wins (we visit values in ascending order).
struct SideBest {
  int64_t t = std::numeric_limits<int64_t>::min();  // exact: i*n2 - j*n1 (or negated)
  double f = -std::numeric_limits<double>::infinity();
  double location = 0;
  bool in_a = false;
  bool set = false;

  void Offer(double value, double x, bool x_in_a) {
    if (!set || value > f || (value == f && x_in_a && !in_a)) {
      f = value;
      location = x;
      in_a = x_in_a;
      set = true;
    }
  }
};

// A later side's best after an earlier one's (the later range's values are
// larger on both samples): SciPy's first-occurrence rule again.
void MergeLater(bool exact_order, SideBest* earlier, const SideBest& later) {
  if (!later.set) return;
  if (!earlier->set || (exact_order && later.t > earlier->t)) {
    *earlier = later;
    return;
  }
  if (exact_order && later.t < earlier->t) return;
  earlier->Offer(later.f, later.location, later.in_a);
}

// Merges a[i, a_end) with b[j, b_end) (i and j also count the values before
// the range), comparing the ECDFs at every group of equal values.
//
// kExactIntegerOrder: n1 * n2 <= 2^50, so the float differences are ordered
// as the exact rationals i/n1 - j/n2 except for exact ties; the divisions are
// then only evaluated at candidate maxima. Otherwise every point is evaluated.
//
// Each step consumes one value and picks the side without a branch (the pick
// is a coin flip for interleaved samples and would mispredict half the time).
// A group closes when a larger value arrives, after all its copies on both
// sides are consumed.
template <bool kExactIntegerOrder>
class MergeChain {
 public:
  MergeChain(const double* a, int64_t i, int64_t a_end, const double* b, int64_t j,
             int64_t b_end, int64_t n1, int64_t n2)
      : a_(a), b_(b), i_(i), j_(j), a_end_(a_end), b_end_(b_end), n1_(n1), n2_(n2),
        dn1_(static_cast<double>(n1)), dn2_(static_cast<double>(n2)) {
    // The first value opens the first group (the range is not empty).
    const bool take_a = j_ >= b_end_ || (i_ < a_end_ && a_[i_] <= b_[j_]);
    group_x_ = take_a ? a_[i_] : b_[j_];
    group_in_a_ = take_a;
    i_ += take_a ? 1 : 0;
    j_ += take_a ? 0 : 1;
  }

  bool CanStepBoth() const { return i_ < a_end_ && j_ < b_end_; }

  void StepBoth() {
    const double xa = a_[i_];
    const double xb = b_[j_];
    const bool take_a = xa <= xb;
    Step(take_a ? xa : xb, take_a);
    i_ += take_a ? 1 : 0;
    j_ += take_a ? 0 : 1;
  }

  // Consumes the rest and closes the last group.
  void Finish() {
    while (CanStepBoth()) StepBoth();
    for (; i_ < a_end_; ++i_) Step(a_[i_], true);
    for (; j_ < b_end_; ++j_) Step(b_[j_], false);
    CloseGroup();
  }

  SideBest pos;  // max of F_a - F_b
  SideBest neg;  // max of F_b - F_a
  double w_sum = 0;  // sum of |i*n2 - j*n1| * (next value - value)
  int64_t distinct = 0;
  double last_x() const { return group_x_; }

 private:
  void Step(double x, bool from_a) {
    if (x != group_x_) {
      CloseGroup();
      w_sum += std::fabs(static_cast<double>(i_) * dn2_ - static_cast<double>(j_) * dn1_) *
               (x - group_x_);
      group_x_ = x;
      group_in_a_ = from_a;
    } else {
      group_in_a_ = group_in_a_ || from_a;
    }
  }

  // Compares the ECDFs after the current group (i_, j_ values consumed).
  void CloseGroup() {
    ++distinct;
    if constexpr (kExactIntegerOrder) {
      const int64_t t = i_ * n2_ - j_ * n1_;
      if (t >= pos.t) {
        if (t > pos.t) pos.set = false;
        pos.t = t;
        pos.Offer(i_ / dn1_ - j_ / dn2_, group_x_, group_in_a_);
      }
      if (-t >= neg.t) {
        if (-t > neg.t) neg.set = false;
        neg.t = -t;
        neg.Offer(-(i_ / dn1_ - j_ / dn2_), group_x_, group_in_a_);
      }
    } else {
      const double f = i_ / dn1_ - j_ / dn2_;
      pos.Offer(f, group_x_, group_in_a_);
      neg.Offer(-f, group_x_, group_in_a_);
    }
  }

  const double* a_;
  const double* b_;
  int64_t i_;
  int64_t j_;
  const int64_t a_end_;
  const int64_t b_end_;
  const int64_t n1_;
  const int64_t n2_;
  const double dn1_;
  const double dn2_;
  double group_x_ = 0;
  bool group_in_a_ = false;
};

// Below this many values one chain does it all.
constexpr int64_t kSplitMin = 1 << 14;

// The ECDF comparison from the merged sides and the Wasserstein sum.
EcdfComparison Finalize(const SideBest& pos, const SideBest& neg, double w_sum, int64_t distinct,
                        int64_t n1, int64_t n2) {
  EcdfComparison out;
  out.distinct_values = distinct;
  out.wasserstein = w_sum / (static_cast<double>(n1) * static_cast<double>(n2));
  // SciPy: minS = clip(-min(cddiffs), 0, 1); maxS = max(cddiffs); the
  // negative side wins only if strictly larger.
  const double min_s = std::clamp(neg.f, 0.0, 1.0);
  if (min_s > pos.f) {
    out.ks_statistic = min_s;
    out.ks_location = neg.location;
    out.ks_sign = -1;
  } else {
    out.ks_statistic = pos.f;
    out.ks_location = pos.location;
    out.ks_sign = 1;
  }
  return out;
}

// Four chains over the ranges cut at a's quartile values (lower bounds in
// both samples, so a group of equal values never straddles two ranges):
// more independent loads in flight than two. `ia` / `jb`: the cuts, each
// range non-empty (so each range from the second on starts at its cut
// value, a[ia[r]]).
template <bool kExactIntegerOrder>
EcdfComparison Compare4(const double* a, int64_t n1, const double* b, int64_t n2,
                        const int64_t (&ia)[5], const int64_t (&jb)[5]) {
  using Chain = MergeChain<kExactIntegerOrder>;
  Chain c0(a, ia[0], ia[1], b, jb[0], jb[1], n1, n2);
  Chain c1(a, ia[1], ia[2], b, jb[1], jb[2], n1, n2);
  Chain c2(a, ia[2], ia[3], b, jb[2], jb[3], n1, n2);
  Chain c3(a, ia[3], ia[4], b, jb[3], jb[4], n1, n2);
  while (c0.CanStepBoth() && c1.CanStepBoth() && c2.CanStepBoth() && c3.CanStepBoth()) {
    c0.StepBoth();
    c1.StepBoth();
    c2.StepBoth();
    c3.StepBoth();
  }
  while (c0.CanStepBoth() && c1.CanStepBoth()) {
    c0.StepBoth();
    c1.StepBoth();
  }
  while (c2.CanStepBoth() && c3.CanStepBoth()) {
    c2.StepBoth();
    c3.StepBoth();
  }
  c0.Finish();
  c1.Finish();
  c2.Finish();
  c3.Finish();
  SideBest pos = c0.pos;
  SideBest neg = c0.neg;
  int64_t distinct = c0.distinct;
  double w_sum = c0.w_sum;
  double last_x = c0.last_x();
  const Chain* later[3] = {&c1, &c2, &c3};
  for (int r = 1; r < 4; ++r) {
    const Chain& c = *later[r - 1];
    // The gap between the previous range's last value and this range's first.
    w_sum += std::fabs(static_cast<double>(ia[r]) * n2 - static_cast<double>(jb[r]) * n1) *
             (a[ia[r]] - last_x);
    w_sum += c.w_sum;
    MergeLater(kExactIntegerOrder, &pos, c.pos);
    MergeLater(kExactIntegerOrder, &neg, c.neg);
    distinct += c.distinct;
    last_x = c.last_x();
  }
  return Finalize(pos, neg, w_sum, distinct, n1, n2);
}

// The pooled sample is split at a's quartiles into four ranges merged by
// four independent chains in one loop (Compare4) when all four are
// non-empty; otherwise at a's median into two: the loads of one chain
// overlap the others', cutting the time of this latency-bound loop.
template <bool kExactIntegerOrder>
EcdfComparison Compare(const double* a, int64_t n1, const double* b, int64_t n2) {
  using Chain = MergeChain<kExactIntegerOrder>;
  if (n1 + n2 >= kSplitMin && n1 >= 4) {
    int64_t ia[5] = {0, 0, 0, 0, n1};
    int64_t jb[5] = {0, 0, 0, 0, n2};
    bool all_non_empty = true;
    for (int r = 1; r < 4; ++r) {
      const double x = a[n1 * r / 4];
      ia[r] = std::lower_bound(a, a + n1, x) - a;
      jb[r] = std::lower_bound(b, b + n2, x) - b;
    }
    for (int r = 0; r < 4; ++r) {
      all_non_empty = all_non_empty && (ia[r] < ia[r + 1] || jb[r] < jb[r + 1]);
    }
    if (all_non_empty) return Compare4<kExactIntegerOrder>(a, n1, b, n2, ia, jb);
  }
  const double split_x = a[n1 / 2];
  const int64_t ia = std::lower_bound(a, a + n1, split_x) - a;
  const int64_t jb = std::lower_bound(b, b + n2, split_x) - b;
  const bool split = n1 + n2 >= kSplitMin && ia + jb > 0;
  // Unsplit: everything. Split: from split_x on (never empty).
  Chain high(a, split ? ia : 0, n1, b, split ? jb : 0, n2, n1, n2);
  SideBest pos;
  SideBest neg;
  double w_sum = 0;
  int64_t distinct = 0;
  if (split) {
    Chain low(a, 0, ia, b, 0, jb, n1, n2);
    while (low.CanStepBoth() && high.CanStepBoth()) {
      low.StepBoth();
      high.StepBoth();
    }
    low.Finish();
    pos = low.pos;
    neg = low.neg;
    distinct = low.distinct;
    // The gap between the low range's last value and split_x.
    w_sum = low.w_sum + std::fabs(static_cast<double>(ia) * n2 - static_cast<double>(jb) * n1) *
                            (split_x - low.last_x());
  }
  high.Finish();
  MergeLater(kExactIntegerOrder, &pos, high.pos);
  MergeLater(kExactIntegerOrder, &neg, high.neg);
  distinct += high.distinct;
  w_sum += high.w_sum;
  return Finalize(pos, neg, w_sum, distinct, n1, n2);
}

}  // namespace

EcdfComparison CompareSortedSamples(const SortedSample& a, const SortedSample& b) {
  if (a.empty() || b.empty()) return EcdfComparison{};
  const int64_t n1 = static_cast<int64_t>(a.size());
  const int64_t n2 = static_cast<int64_t>(b.size());
  constexpr double kLimit = 1125899906842624.0;  // 2^50
  if (static_cast<double>(n1) * static_cast<double>(n2) <= kLimit) {
    return Compare<true>(a.data(), n1, b.data(), n2);
  }
  return Compare<false>(a.data(), n1, b.data(), n2);
}

}  // namespace mlops::monitoring
