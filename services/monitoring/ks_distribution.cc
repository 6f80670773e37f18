// scipy.stats.kstwo.sf(d, n): the two-sided one-sample Kolmogorov-Smirnov
// distribution, after SciPy 1.10.1's scipy/stats/_ksstats.py (_kolmogn and
// helpers; BSD-3). Branch choice follows Simard and L'Ecuyer (2011):
//   n*d <= 1 or n*d >= n-1 : Ruben-Gambino closed forms
//   d >= 0.5               : 2 * smirnov(n, d), exact
//   n <= 140               : Durbin matrix (MTW), Pomeranz recursion, Miller
//   n > 140                : Miller (2 * smirnov) for n d^2 >= 2.2, else
//                            1 - cdf by Durbin matrix or Pelz-Good.
// SciPy promotes some intermediates to numpy.longdouble once they are
// rescaled; we use long double for those products too.

#include <algorithm>
#include <cmath>
#include <vector>

#include "services/monitoring/ks_distribution.h"

namespace mlops::monitoring {
namespace {

constexpr int kE128 = 128;
const long double kEp128 = std::ldexp(1.0L, kE128);
const long double kEm128 = std::ldexp(1.0L, -kE128);
constexpr double kPi = M_PI;
constexpr double kPiSquared = kPi * kPi;
constexpr double kPiFour = kPiSquared * kPiSquared;
constexpr double kPiSix = kPiFour * kPiSquared;
constexpr double kMinLog = -708;

double Clip01(double p) { return p < 0 ? 0.0 : (p > 1 ? 1.0 : p); }

// log(n! / n^n) by Stirling's series with n log n removed up front.
double LogNFactorialDivNPowN(double n) {
  // B_{2j} / (2j) / (2j-1) for j = 8..1 (highest power first).
  static constexpr double kStirling[] = {
      -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
      8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
      -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n;
  const double t = rn / n;
  double poly = 0;
  for (double c : kStirling) poly = poly * t + c;
  return std::log(n) / 2 - n + std::log(2 * kPi) / 2 + rn * poly;
}

// Row-major square matrix product.
std::vector<double> MatMul(const std::vector<double>& a, const std::vector<double>& b, int m) {
  std::vector<double> c(static_cast<size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i) {
    for (int k = 0; k < m; ++k) {
      const double aik = a[i * m + k];
      if (aik == 0) continue;
      for (int j = 0; j < m; ++j) c[i * m + j] += aik * b[k * m + j];
    }
  }
  return c;
}

// P(D_n <= d) by the Durbin matrix algorithm as Marsaglia, Tsang and Wang
// (2003) compute it: the k-th diagonal element of H^n, scaled by n!/n^n.
long double KolmogornDmtwCdf(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = n * d;
  if (nd <= 0.5) return 0.0;
  const int k = static_cast<int>(std::ceil(nd));
  const double h = k - nd;
  const int m = 2 * k - 1;
  std::vector<double> v(m);
  std::vector<double> w(m);
  double fac = 1.0;
  for (int j = 1; j <= m; ++j) {
    v[j - 1] = 1.0 - std::pow(h, j);
    w[j - 1] = fac;
    fac /= j;  // may underflow; harmless
    v[j - 1] *= fac;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), m) - 2 * std::pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  std::vector<double> hm(static_cast<size_t>(m) * m, 0.0);
  for (int i = 1; i < m; ++i) {
    for (int r = i - 1; r < m; ++r) hm[r * m + i] = w[r - (i - 1)];
  }
  for (int r = 0; r < m; ++r) hm[r * m + 0] = v[r];
  for (int c = 0; c < m; ++c) hm[(m - 1) * m + c] = v[m - 1 - c];

  std::vector<double> hpwr(static_cast<size_t>(m) * m, 0.0);
  for (int i = 0; i < m; ++i) hpwr[i * m + i] = 1.0;
  int64_t nn = n;
  int64_t expnt = 0;
  int64_t h_expnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      hpwr = MatMul(hpwr, hm, m);
      expnt += h_expnt;
    }
    hm = MatMul(hm, hm, m);
    h_expnt *= 2;
    if (std::fabs(hm[(k - 1) * m + (k - 1)]) > kEp128) {
      for (double& x : hm) x = static_cast<double>(x / kEp128);
      h_expnt += kE128;
    }
    nn /= 2;
  }
  long double p = hpwr[(k - 1) * m + (k - 1)];
  for (int64_t i = 1; i <= n; ++i) {
    p = i * p / n;
    if (std::fabs(p) < kEm128) {
      p *= kEp128;
      expnt -= kE128;
    }
  }
  if (expnt != 0) p = std::ldexp(p, static_cast<int>(expnt));
  return p < 0 ? 0.0L : (p > 1 ? 1.0L : p);
}

// Row i's interval of non-zero entries in the Pomeranz recursion.
void PomeranzJ1J2(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf,
                  int64_t* j1_out, int64_t* j2_out) {
  int64_t j1 = 0;
  int64_t j2 = 0;
  if (i == 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const int64_t ip1div2 = (i + 1) / 2;
    const int64_t ip1mod2 = (i + 1) % 2;
    if (ip1mod2 == 0) {  // i odd
      if (ip1div2 == n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  *j1_out = std::max<int64_t>(j1 + 2, 0);
  *j2_out = std::min<int64_t>(j2, n);
}

// P(D_n <= d) by the Pomeranz (1974) recursion: each row is the previous one
// convolved with (almost) Poisson probabilities; only a band is non-zero.
long double KolmogornPomeranzCdf(int64_t n, double x) {
  const double t = n * x;
  const int64_t ll = static_cast<int64_t>(std::floor(t));
  const double f = t - ll;
  const double g = std::min(f, 1.0 - f);
  const int64_t ceilf = f > 0 ? 1 : 0;
  const int64_t roundf = f > 0.5 ? 1 : 0;
  const int64_t npwrs = 2 * (ll + 1);
  std::vector<double> gpower(npwrs);
  std::vector<double> twogpower(npwrs);
  std::vector<double> onem2gpower(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  const double g_over_n = g / n;
  const double two_g_over_n = 2 * g / n;
  const double one_minus_two_g_over_n = (1 - 2 * g) / n;
  for (int64_t m = 1; m < npwrs; ++m) {
    gpower[m] = gpower[m - 1] * g_over_n / m;
    twogpower[m] = twogpower[m - 1] * two_g_over_n / m;
    onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m;
  }
  std::vector<double> v0(npwrs, 0.0);
  std::vector<double> v1(npwrs, 0.0);
  v1[0] = 1;
  int64_t v0s = 0;
  int64_t v1s = 0;
  int64_t expnt = 0;
  int64_t j1 = 0;
  int64_t j2 = 0;
  PomeranzJ1J2(0, n, ll, ceilf, roundf, &j1, &j2);
  for (int64_t i = 1; i < 2 * n + 2; ++i) {
    const int64_t k1 = j1;
    std::swap(v0, v1);
    std::swap(v0s, v1s);
    std::fill(v1.begin(), v1.end(), 0.0);
    PomeranzJ1J2(i, n, ll, ceilf, roundf, &j1, &j2);
    const std::vector<double>& pwrs =
        (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 ? twogpower : onem2gpower);
    const int64_t ln2 = j2 - k1 + 1;
    if (ln2 <= 0) continue;
    // Entries conv_start .. conv_start+conv_len-1 of the full convolution of
    // v0[k1-v0s .. k1-v0s+ln2) with pwrs[0 .. ln2).
    const int64_t base = k1 - v0s;
    const int64_t conv_start = j1 - k1;
    const int64_t conv_len = j2 - j1 + 1;
    double vmax = 0;
    for (int64_t c = 0; c < conv_len; ++c) {
      const int64_t kk = conv_start + c;
      double sum = 0;
      for (int64_t a = std::max<int64_t>(0, kk - (ln2 - 1)); a <= std::min(kk, ln2 - 1); ++a) {
        const int64_t idx = base + a;
        if (idx >= 0 && idx < npwrs) sum += v0[idx] * pwrs[kk - a];
      }
      v1[c] = sum;
      vmax = std::max(vmax, sum);
    }
    if (vmax > 0 && vmax < kEm128) {
      for (double& e : v1) e = static_cast<double>(e * kEp128);
      expnt -= kE128;
    }
    v1s = v0s + j1 - k1;
  }
  long double ans = v1[n - v1s];
  for (int64_t m = 1; m <= n; ++m) {
    if (std::fabs(ans) > kEp128) {
      ans *= kEm128;
      expnt += kE128;
    }
    ans *= m;
  }
  if (expnt != 0) ans = std::ldexp(ans, static_cast<int>(expnt));
  return ans < 0 ? 0.0L : (ans > 1 ? 1.0L : ans);
}

// Pelz and Good (1976): Li-Chien/Korolyuk's expansion in 1/sqrt(n),
// transformed for small z = sqrt(n) x. Returns P(D_n <= x), unclipped.
double KolmogornPelzGoodCdf(int64_t n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double z = std::sqrt(static_cast<double>(n)) * x;
  const double zsquared = std::pow(z, 2);
  const double zthree = std::pow(z, 3);
  const double zfour = std::pow(z, 4);
  const double zsix = std::pow(z, 6);
  const double qlog = -kPiSquared / 8 / zsquared;
  if (qlog < kMinLog) return 0.0;
  double q = std::exp(qlog);
  const double k1a = -zsquared;
  const double k1b = kPiSquared / 4;
  const double k2a = 6 * zsix + 2 * zfour;
  const double k2b = (2 * zfour - 5 * zsquared) * kPiSquared / 4;
  const double k2c = kPiFour * (1 - 2 * zsquared) / 16;
  const double k3d = kPiSix * (5 - 30 * zsquared) / 64;
  const double k3c = kPiFour * (-60 * zsquared + 212 * zfour) / 16;
  const double k3b = kPiSquared * (135 * zfour - 96 * zsix) / 4;
  const double k3a = -30 * zsix - 90 * std::pow(z, 8);
  double kk[4] = {0, 0, 0, 0};
  const int64_t maxk = static_cast<int64_t>(std::ceil(16 * z / kPi));
  // Horner scheme for sum c_i q^(i^2) over odd i.
  for (int64_t k = maxk; k > 0; --k) {
    const double m = 2.0 * k - 1;
    const double msquared = m * m;
    const double mfour = msquared * msquared;
    const double msix = mfour * msquared;
    const double qpower = std::pow(q, static_cast<double>(8 * k));
    const double coeffs[4] = {1.0, k1a + k1b * msquared, k2a + k2b * msquared + k2c * mfour,
                              k3a + k3b * msquared + k3c * mfour + k3d * msix};
    for (int i = 0; i < 4; ++i) kk[i] = kk[i] * qpower + coeffs[i];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  const double divisors[4] = {z, 6 * zfour, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) kk[i] = kk[i] * q * sqrt2pi / divisors[i];
  // The other sum, over all integers k, of the K_2 and K_3 extra terms.
  q = std::exp(-kPiSquared / 2 / zsquared);
  const double sqrt3z = std::sqrt(3.0) * z;
  double k2extra = 0;
  double k3extra = 0;
  for (int64_t k = maxk; k > 0; --k) {
    const double ksq = static_cast<double>(k) * k;
    const double qpwer = std::pow(q, ksq);
    const double kspi = kPi * k;
    k2extra += ksq * qpwer;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qpwer;
  }
  kk[2] += k2extra * kPiSquared * sqrt2pi / (-36 * zthree);
  kk[3] += k3extra * kPiSquared * sqrt2pi / (216 * zsix);
  const double nd = static_cast<double>(n);
  kk[1] /= std::sqrt(nd);
  kk[2] /= nd;
  kk[3] /= std::pow(nd, 1.5);
  return kk[0] + kk[1] + kk[2] + kk[3];
}

// _kolmogn(n, x, cdf=False).
double KolmogornSf(int64_t n, double x) {
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double t = n * x;
  if (t <= 1.0) {  // Ruben-Gambino: 1/2n <= x <= 1/n
    if (t <= 0.5) return 1.0;
    double prob = 0;
    if (n <= 140) {
      prob = 1.0;
      for (int64_t i = 1; i <= n; ++i) prob *= i * (1.0 / n) * (2 * t - 1);
    } else {
      prob = std::exp(LogNFactorialDivNPowN(n) + n * std::log(2 * t - 1));
    }
    return Clip01(1.0 - prob);
  }
  if (t >= n - 1) return Clip01(2 * std::pow(1.0 - x, static_cast<double>(n)));  // Ruben-Gambino
  if (x >= 0.5) return Clip01(2 * SmirnovSf(static_cast<int>(n), x));
  const double nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) {
      return Clip01(static_cast<double>(1.0L - KolmogornDmtwCdf(n, x)));
    }
    if (nxsquared <= 4) return Clip01(static_cast<double>(1.0L - KolmogornPomeranzCdf(n, x)));
    return Clip01(2 * SmirnovSf(static_cast<int>(n), x));  // Miller's approximation
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return Clip01(2 * SmirnovSf(static_cast<int>(n), x));
  long double cdf = 0;
  if (n <= 100000 && n * std::pow(x, 1.5) <= 1.4) {
    cdf = KolmogornDmtwCdf(n, x);
  } else {
    cdf = KolmogornPelzGoodCdf(n, x);
  }
  return Clip01(static_cast<double>(1.0L - cdf));
}

}  // namespace

double KolmogorovTwoSidedSf(int64_t n, double d) {
  if (n < 1 || std::isnan(d)) return NAN;
  // rv_continuous.sf over the support (0.5/n, 1).
  if (d <= 0.5 / static_cast<double>(n)) return 1.0;
  if (d >= 1.0) return 0.0;
  return KolmogornSf(n, d);
}

}  // namespace mlops::monitoring
