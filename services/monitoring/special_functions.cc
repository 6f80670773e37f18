#include "services/monitoring/special_functions.h"

#include <cfloat>
#include <cmath>

namespace mlops::monitoring {
namespace {

constexpr double kPi = M_PI;
// cephes MAXLOG = log(DBL_MAX): igamc returns 0 below exp(-kMaxLog).
constexpr double kMaxLog = 7.09782712893383996732E2;
constexpr int kMaxIterations = 100000;

// log(x^a e^-x / Gamma(a)).
double LogPrefactor(double a, double x) {
  if (a < 10) return a * std::log(x) - x - std::lgamma(a);
  return 0.5 * std::log(a / (2 * kPi)) + a * Log1pmx((x - a) / a) - StirlingError(a);
}

// P(a, x) by its power series (DLMF 8.11.4), for x < a + 1.
double LowerSeries(double a, double x, double log_prefactor) {
  double r = a;
  double c = 1.0;
  double sum = 1.0;
  for (int i = 0; i < kMaxIterations; ++i) {
    r += 1.0;
    c *= x / r;
    sum += c;
    if (c <= DBL_EPSILON * 0.5 * sum) break;
  }
  return sum * std::exp(log_prefactor) / a;
}

// Q(a, x) by its continued fraction (DLMF 8.9.2) with the modified Lentz
// method, for x >= a + 1.
double UpperContinuedFraction(double a, double x, double log_prefactor) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < kMaxIterations; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) <= DBL_EPSILON * 0.5) break;
  }
  return std::exp(log_prefactor) * h;
}

}  // namespace

double RegularizedGammaQ(double a, double x) {
  if (std::isnan(a) || std::isnan(x) || a <= 0 || x < 0) return NAN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  if (std::isinf(a)) return 1.0;
  const double log_prefactor = LogPrefactor(a, x);
  if (x < a + 1) {
    if (log_prefactor < -kMaxLog) return 1.0;
    return 1.0 - LowerSeries(a, x, log_prefactor);
  }
  if (log_prefactor < -kMaxLog) return 0.0;
  return UpperContinuedFraction(a, x, log_prefactor);
}

double RegularizedGammaP(double a, double x) {
  if (std::isnan(a) || std::isnan(x) || a <= 0 || x < 0) return NAN;
  if (x == 0) return 0.0;
  if (std::isinf(x)) return 1.0;
  if (std::isinf(a)) return 0.0;
  const double log_prefactor = LogPrefactor(a, x);
  if (x < a + 1) {
    if (log_prefactor < -kMaxLog) return 0.0;
    return LowerSeries(a, x, log_prefactor);
  }
  if (log_prefactor < -kMaxLog) return 1.0;
  return 1.0 - UpperContinuedFraction(a, x, log_prefactor);
}

double ChiSquareSf(double x, double df) {
  if (std::isnan(x) || std::isnan(df) || df <= 0) return NAN;
  if (x <= 0) return 1.0;
  return RegularizedGammaQ(df / 2, x / 2);
}

double NormalSf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double Log1pmx(double s) {
  // With r = s / (2 + s): log(1 + s) = 2r (1 + r^2/3 + r^4/5 + ...) and
  // s - 2r = r s, so nothing cancels for |s| <= 0.5 (Loader 2000).
  if (std::fabs(s) > 0.5) return std::log1p(s) - s;
  const double r = s / (2 + s);
  const double r2 = r * r;
  double term = r2;  // r^(2k)
  double series = 0;
  for (int k = 1; k < 60; ++k) {
    const double add = term / (2 * k + 1);
    series += add;
    if (std::fabs(add) <= DBL_EPSILON * 0.25 * std::fabs(series)) break;
    term *= r2;
  }
  return 2 * r * series - r * s;
}

double StirlingError(double n) {
  if (n <= 15) {
    // Small n: directly, in extended precision (no harmful cancellation).
    const long double nl = n;
    return static_cast<double>(std::lgamma(nl + 1) - (nl + 0.5L) * std::log(nl) + nl -
                               0.5L * std::log(2 * static_cast<long double>(M_PI)));
  }
  // B_{2k} / (2k (2k-1)) for k = 1..7; the truncation error is below
  // 1e-17 for n > 15.
  static constexpr double kCoeffs[] = {1.0 / 12,   -1.0 / 360,         1.0 / 1260,
                                       -1.0 / 1680, 1.0 / 1188,         -691.0 / 360360,
                                       1.0 / 156};
  const double n2 = 1.0 / (n * n);
  int terms = 7;
  if (n > 500) {
    terms = 2;
  } else if (n > 80) {
    terms = 3;
  } else if (n > 35) {
    terms = 4;
  }
  double sum = 0;
  for (int k = terms - 1; k >= 0; --k) sum = sum * n2 + kCoeffs[k];
  return sum / n;
}

double BinomialDeviance(double x, double m) {
  if (std::fabs(x - m) < 0.1 * (x + m)) {
    // x log(x/m) + m - x = (x - m) v + 2x (v^3/3 + v^5/5 + ...), v = (x-m)/(x+m).
    const double v = (x - m) / (x + m);
    double s = (x - m) * v;
    double ej = 2 * x * v;
    const double v2 = v * v;
    for (int j = 1; j < 1000; ++j) {
      ej *= v2;
      const double s1 = s + ej / (2 * j + 1);
      if (s1 == s) return s1;
      s = s1;
    }
    return s;
  }
  return x * std::log(x / m) + m - x;
}

}  // namespace mlops::monitoring
