// The one-sided Smirnov distribution, P(D+_n >= d), after SciPy 1.10.1's
// scipy/special/cephes/kolmogorov.c (_smirnov, by Paul van Mulbregt; BSD-3).
//
// Birnbaum-Tingey: P(D+_n >= d) = d * sum_{v=0}^{floor(n(1-d))} C(n,v)
// (d + v/n)^(v-1) (1 - d - v/n)^(n-v). The terms under- and overflow doubles
// for large n, so each is kept as a double-double significand with a separate
// int exponent; the sum stops early once the remaining terms cannot matter.
// Only the survival function is computed (SciPy also returns cdf and pdf).

#include <cfloat>
#include <cmath>

#include "services/monitoring/double_double.h"
#include "services/monitoring/ks_distribution.h"
#include "services/monitoring/special_functions.h"

namespace mlops::monitoring {
namespace {

using dd::DoubleDouble;

// n larger than this uses the approximation exp(-(6nx+1)^2 / 18n).
constexpr int kSmirnovMaxComputeN = 1000000;
// Use the upper sum when it has at most this many terms and n is at least
// kUpperSumMinN (the upper sum alternates in sign and loses accuracy).
constexpr int kUpperSumMaxTerms = 3;
constexpr int kUpperSumMinN = 10;
// cephes MINLOG = log(2^-1075): exp() of anything below is 0.
constexpr double kMinLog = -7.451332191019412076235E2;
// Keeps both words of a double-double normal while scaling powers.
constexpr int kMaxExponent = 960;

// (x, rounded up slightly), as cephes' nextPowerOf2 does.
double NextPowerOf2(double x) {
  const double q = std::ldexp(x, 1 - DBL_MANT_DIG);
  double l = std::fabs(q + x);
  if (l == 0) {
    l = std::fabs(x);
  } else {
    const int l_int = static_cast<int>(l);
    if (l_int == l) l = l_int;
  }
  return l;
}

// floor(n * x) and the fractional part, exactly (n * x as a double-double).
double ModNX(int n, double x, int* nx_floor, double* nx) {
  const DoubleDouble nx_dd = dd::TwoProd(n, x);
  const DoubleDouble floor_dd = dd::Floor(nx_dd);
  double alpha = dd::Sub(nx_dd, floor_dd).hi;
  int fl = static_cast<int>(floor_dd.hi);
  if (alpha == 1) {
    fl += 1;
    alpha = 0;
  }
  *nx = nx_dd.hi;
  *nx_floor = fl;
  return alpha;
}

// C(n, j+1) from C(n, j), both as significand * 2^exponent.
void UpdateBinomial(DoubleDouble* c_man, int* c_exp, int n, int j) {
  int e = 0;
  const DoubleDouble rat = dd::Div(static_cast<double>(n - j), j + 1.0);
  *c_man = dd::Frexp(dd::Mul(*c_man, rat), &e);
  *c_exp += e;
}

// a^m using pow() on the high word and a first-order correction for the low.
DoubleDouble PowD(DoubleDouble a, int m) {
  if (m <= 0) {
    if (m == 0) return dd::FromDouble(1.0);
    return dd::Inv(PowD(a, -m));
  }
  if (dd::IsZero(a)) return dd::FromDouble(0.0);
  const double ans = std::pow(a.hi, m);
  const double r = a.lo / a.hi;
  double adj = m * r;
  if (std::fabs(adj) > 1e-8) {
    if (std::fabs(adj) < 1e-4) {
      adj += (m * r) * ((m - 1) / 2.0 * r);  // (1+r)^m to second order
    } else {
      adj = std::expm1(m * std::log1p(r));
    }
  }
  return dd::TwoSum(ans, ans * adj);
}

// a^m = significand * 2^(*exponent), splitting the power so that no
// intermediate leaves the double range.
DoubleDouble Pow2Scaled(DoubleDouble a, int m, int* exponent) {
  if (m <= 0) {
    if (m == 0) {
      *exponent = 0;
      return dd::FromDouble(1.0);
    }
    int e1 = 0;
    int e2 = 0;
    DoubleDouble ans = Pow2Scaled(a, -m, &e1);
    ans = dd::Frexp(dd::Inv(ans), &e2);
    *exponent = -e1 + e2;
    return ans;
  }
  int y_exp = 0;
  const DoubleDouble y = dd::Frexp(a, &y_exp);
  if (m == 1) {
    *exponent = y_exp;
    return y;
  }
  int max_expt = kMaxExponent;
  if (m * (y.hi - 1) / y.hi < -kMaxExponent * M_LN2) {
    const double lg2y = std::log(y.hi) / M_LN2;
    if (m * lg2y <= -kMaxExponent) {
      max_expt = static_cast<int>(NextPowerOf2(-kMaxExponent / lg2y + 1) / 2);
    }
  }
  if (m <= max_expt) {
    int e = 0;
    const DoubleDouble ans = dd::Frexp(PowD(y, m), &e);
    *exponent = e + m * y_exp;
    return ans;
  }
  const int q = m / max_expt;
  const int r = m % max_expt;
  int y2r_e = 0;
  int y2m_e = 0;
  int y2mq_e = 0;
  const DoubleDouble y2r = Pow2Scaled(y, r, &y2r_e);
  const DoubleDouble y2m = Pow2Scaled(y, max_expt, &y2m_e);
  const DoubleDouble y2mq = Pow2Scaled(y2m, q, &y2mq_e);
  int e = 0;
  const DoubleDouble ans = dd::Frexp(dd::Mul(y2r, y2mq), &e);
  y2mq_e += y2m_e * q;
  *exponent = e + y2mq_e + y2r_e + m * y_exp;
  return ans;
}

// ((a + b) / (c + d))^m.
DoubleDouble Pow4(double a, double b, double c, double d, int m) {
  if (m <= 0) {
    if (m == 0) return dd::FromDouble(1.0);
    return Pow4(c, d, a, b, -m);
  }
  const DoubleDouble num = dd::TwoSum(a, b);
  const DoubleDouble den = dd::TwoSum(c, d);
  if (dd::IsZero(num)) {
    return dd::IsZero(den) ? dd::FromDouble(NAN) : dd::FromDouble(0.0);
  }
  if (dd::IsZero(den)) return dd::FromDouble(num.hi < 0 ? -INFINITY : INFINITY);
  return PowD(dd::Div(num, den), m);
}

// One term A_v = C(n,v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1).
DoubleDouble ComputeAv(int n, double x, int v, DoubleDouble c_man, int c_exp) {
  int t1_e = 0;
  int t2_e = 0;
  const DoubleDouble t2x = dd::Add(dd::Div(static_cast<double>(n - v), n), -x);
  const DoubleDouble t2 = Pow2Scaled(t2x, n - v, &t2_e);
  const DoubleDouble t1x = dd::Add(dd::Div(static_cast<double>(v), n), x);
  const DoubleDouble t1 = Pow2Scaled(t1x, v - 1, &t1_e);
  const DoubleDouble ans = dd::Mul(dd::Mul(t1, t2), c_man);
  return dd::Ldexp(ans, c_exp + t1_e + t2_e);
}

double Clip01(double p) { return p < 0 ? 0.0 : (p > 1 ? 1.0 : p); }

// SciPy's early exit: the terms decrease past their peak, so once the next
// n_terms - j of them cannot reach DBL_EPSILON of the sum, stop.
bool Negligible(int n_terms, int j, double term, double sum) {
  return 4.0 * (n_terms - j) * std::fabs(term) < DBL_EPSILON * sum && j != n_terms - 1;
}

// P(D+_n < x) = x * sum_{v = n, n-1, ...} A_v over the few upper terms
// (alternating signs), in double-double as SciPy does.
double UpperSum(int n, double x, int n_terms) {
  DoubleDouble c_man = dd::FromDouble(1.0);
  int c_exp = 0;
  DoubleDouble sum = Pow4(1, x, 1, 0, n - 1);
  UpdateBinomial(&c_man, &c_exp, n, 0);
  for (int j = 1; j < n_terms; ++j) {
    const DoubleDouble aj = ComputeAv(n, x, n - j, c_man, c_exp);
    if (dd::IsFinite(aj) && !dd::IsZero(aj)) sum = dd::Add(sum, aj);
    if (!dd::IsZero(aj)) {
      if (Negligible(n_terms, j, aj.hi, sum.hi)) break;
    } else if (j > n / 2) {
      break;
    }
    UpdateBinomial(&c_man, &c_exp, n, j);
  }
  return dd::Mul(sum, x).hi;
}

// P(D+_n >= x) = x * sum_{v=0}^{n_terms-1} A_v. All terms are positive, and
// A_v = C(n,v) p^(v-1) q^(n-v) with p = x + v/n, q = 1 - p is a binomial
// probability divided by p, so each term is evaluated in double by Loader's
// saddle-point form (stirlerr, bd0): relative error ~1e-14 per term at a few
// ns each. SciPy evaluates the same terms in double-double with pow(), which
// costs ~2 us per term: seconds for n ~ 1e6, where this takes milliseconds.
double LowerSum(int n, double x, int n_terms) {
  const double nd = n;
  const double nx = nd * x;
  // v = 0: q^n / x.
  double sum = dd::Div(Pow4(1, -x, 1, 0, n), dd::FromDouble(x)).hi;
  double compensation = 0;  // Neumaier summation of positive terms
  const double log_2pi = std::log(2 * M_PI);
  const double stirlerr_n = StirlingError(nd);
  for (int j = 1; j < n_terms; ++j) {
    const double v = j;
    const double np = nx + v;         // n p
    const double nq = (nd - v) - nx;  // n q
    const double lc = stirlerr_n - StirlingError(v) - StirlingError(nd - v) -
                      BinomialDeviance(v, np) - BinomialDeviance(nd - v, nq);
    const double lf = log_2pi + std::log(v) + std::log1p(-v / nd);
    const double term = std::exp(lc - 0.5 * lf) * nd / np;
    const double t = sum + term;
    compensation += (sum >= term) ? (sum - t) + term : (term - t) + sum;
    sum = t;
    if (term != 0) {
      if (Negligible(n_terms, j, term, sum)) break;
    } else if (j > n / 2) {
      break;
    }
  }
  return (sum + compensation) * x;
}

}  // namespace

double SmirnovSf(int n, double x) {
  if (std::isnan(x) || !(n > 0 && x >= 0.0 && x <= 1.0)) return NAN;
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;

  int nx_floor = 0;
  double nx = 0;
  const double alpha = ModNX(n, x, &nx_floor, &nx);
  int n1mx_floor = n - nx_floor - (alpha == 0 ? 0 : 1);
  int n1mx_ceil = n - nx_floor;
  // With alpha == 0 the last term belongs to neither the lower nor the upper sum.
  if (alpha == 0) {
    n1mx_floor -= 1;
    n1mx_ceil += 1;
  }

  // x <= 1/n: closed form.
  if (nx_floor == 0 || (nx_floor == 1 && alpha == 0)) {
    const double t = PowD(dd::TwoSum(1, x), n - 1).hi;
    return 1 - x * t;
  }
  // The survival function underflows.
  if (-2 * n * x * x < kMinLog) return 0.0;
  // x >= 1 - 1/n: closed form.
  if (nx_floor >= n - 1) return PowD(dd::TwoSum(1, -x), n).hi;
  // n too large to sum: p ~ exp(-(6nx+1)^2 / 18n).
  if (n > kSmirnovMaxComputeN) {
    const double logp = -std::pow(6.0 * n * x + 1, 2) / 18.0 / n;
    if (logp < -M_LN2) return std::exp(logp);
    return 1 - (-std::expm1(logp));
  }

  const int n_upper_terms = n - n1mx_ceil + 1;
  const bool use_upper_sum =
      (n_upper_terms <= 1 && x < 0.5) ||
      (n >= kUpperSumMinN && n_upper_terms <= kUpperSumMaxTerms && x <= 0.5 / std::sqrt(n));

  if (use_upper_sum) return Clip01(1 - UpperSum(n, x, n - n1mx_ceil + 1));
  return Clip01(LowerSum(n, x, n1mx_floor + 1));
}

}  // namespace mlops::monitoring
