#pragma once
// Null distributions of Kolmogorov-Smirnov statistics, as SciPy 1.10 computes
// them. Pure functions; thread-safe.
//
// Ported from SciPy 1.10.1 (BSD-3-Clause): scipy/special/cephes/kolmogorov.c
// (smirnov) and scipy/stats/_ksstats.py (kolmogn and its Durbin-Marsaglia-
// Tsang-Wang, Pomeranz, Pelz-Good and Ruben-Gambino branches, chosen as in
// Simard and L'Ecuyer 2011). Checked against SciPy in ks_distribution_test.cc
// and drift_vectors_test.cc.

#include <cstdint>

namespace mlops::monitoring {

// Survival function of the one-sided one-sample statistic D+_n:
// P(D+_n >= d). Equals scipy.special.smirnov(n, d). NaN outside n >= 1,
// 0 <= d <= 1.
double SmirnovSf(int n, double d);

// Survival function of the two-sided one-sample statistic D_n:
// P(D_n >= d). Equals scipy.stats.kstwo.sf(d, n), including its support
// handling (1 for d <= 0.5/n, 0 for d >= 1). NaN for n < 1.
double KolmogorovTwoSidedSf(int64_t n, double d);

}  // namespace mlops::monitoring
