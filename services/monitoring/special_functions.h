#pragma once
// Special functions behind the p-values of the drift tests. Pure functions;
// thread-safe. Accuracy is checked against SciPy 1.10 (special_functions_test,
// drift_vectors_test): relative error below 1e-12 where the result is a
// normal double.

namespace mlops::monitoring {

// Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), for
// a > 0, x >= 0 (scipy.special.gammaincc). NaN outside the domain.
//
// Power series for P = 1 - Q when x < a + 1, Lentz's continued fraction for
// Q otherwise; the prefactor x^a e^-x / Gamma(a) is evaluated as
// sqrt(a / 2pi) exp(a log1pmx((x - a) / a) - stirlerr(a)) for a >= 10
// (Loader's saddle-point form), which keeps full relative accuracy when a
// and x are large and close. Returns 0 where SciPy's cephes igamc underflows
// (log of the prefactor below -log(DBL_MAX)).
double RegularizedGammaQ(double a, double x);

// Regularized lower incomplete gamma P(a, x) = 1 - Q(a, x).
double RegularizedGammaP(double a, double x);

// Survival function of the chi-square distribution with `df` > 0 degrees of
// freedom: scipy.stats.chi2.sf(x, df) = Q(df / 2, x / 2); 1 for x <= 0.
double ChiSquareSf(double x, double df);

// Survival function of the standard normal: P(Z > z) = erfc(z / sqrt 2) / 2.
double NormalSf(double z);

// log(n!) - log(sqrt(2 pi n) (n / e)^n), the error of Stirling's formula,
// for n >= 1 (Loader 2000). Absolute error below 1e-16.
double StirlingError(double n);

// Loader's deviance term bd0(x, m) = x log(x / m) + m - x, for x, m > 0,
// without cancellation when x is close to m.
double BinomialDeviance(double x, double m);

// log(1 + s) - s, for s > -1, without cancellation for small |s|.
double Log1pmx(double s);

}  // namespace mlops::monitoring
