#pragma once
// Double-double arithmetic: a value hi + lo with |lo| <= ulp(hi) / 2, about 106
// bits of significand. Only what the one-sided Smirnov distribution needs
// (smirnov_distribution.cc), written after the classic error-free transforms
// (Dekker, Knuth; Hida, Li and Bailey's QD library, which SciPy's cephes
// dd_real.h also follows). Products use std::fma, exact on x86-64.
//
// Plain value type; thread-safe as any value. Requires IEEE round-to-nearest
// and no -ffast-math (both hold for our build).

#include <cmath>

namespace mlops::monitoring::dd {

struct DoubleDouble {
  double hi = 0.0;
  double lo = 0.0;
};

// s + err == a + b exactly.
inline DoubleDouble TwoSum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  const double err = (a - (s - bb)) + (b - bb);
  return {s, err};
}

// Assumes |a| >= |b| (or a == 0).
inline DoubleDouble QuickTwoSum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}

// p + err == a * b exactly.
inline DoubleDouble TwoProd(double a, double b) {
  const double p = a * b;
  return {p, std::fma(a, b, -p)};
}

inline DoubleDouble FromDouble(double a) { return {a, 0.0}; }

inline DoubleDouble Add(DoubleDouble a, DoubleDouble b) {
  // IEEE-style error bound (Briggs and Kahan).
  DoubleDouble s = TwoSum(a.hi, b.hi);
  const DoubleDouble t = TwoSum(a.lo, b.lo);
  s.lo += t.hi;
  s = QuickTwoSum(s.hi, s.lo);
  s.lo += t.lo;
  return QuickTwoSum(s.hi, s.lo);
}

inline DoubleDouble Neg(DoubleDouble a) { return {-a.hi, -a.lo}; }

inline DoubleDouble Sub(DoubleDouble a, DoubleDouble b) { return Add(a, Neg(b)); }

inline DoubleDouble Add(DoubleDouble a, double b) {
  DoubleDouble s = TwoSum(a.hi, b);
  s.lo += a.lo;
  return QuickTwoSum(s.hi, s.lo);
}

inline DoubleDouble Mul(DoubleDouble a, DoubleDouble b) {
  DoubleDouble p = TwoProd(a.hi, b.hi);
  p.lo += a.hi * b.lo + a.lo * b.hi;
  return QuickTwoSum(p.hi, p.lo);
}

inline DoubleDouble Mul(DoubleDouble a, double b) {
  const DoubleDouble p1 = TwoProd(a.hi, b);
  const DoubleDouble p2 = TwoProd(a.lo, b);
  return QuickTwoSum(p1.hi, p2.lo + p2.hi + p1.lo);
}

// Three-step long division; accurate to the last bit of the lo word.
inline DoubleDouble Div(DoubleDouble a, DoubleDouble b) {
  double q1 = a.hi / b.hi;
  DoubleDouble r = Sub(a, Mul(b, q1));
  double q2 = r.hi / b.hi;
  r = Sub(r, Mul(b, q2));
  const double q3 = r.hi / b.hi;
  DoubleDouble q = QuickTwoSum(q1, q2);
  return Add(q, q3);
}

inline DoubleDouble Div(double a, double b) { return Div(FromDouble(a), FromDouble(b)); }

inline DoubleDouble Inv(DoubleDouble a) { return Div(FromDouble(1.0), a); }

inline DoubleDouble Floor(DoubleDouble a) {
  double hi = std::floor(a.hi);
  double lo = 0.0;
  if (hi == a.hi) {
    // hi is already an integer: round the low word and renormalize.
    lo = std::floor(a.lo);
    const DoubleDouble s = QuickTwoSum(hi, lo);
    hi = s.hi;
    lo = s.lo;
  }
  return {hi, lo};
}

// a * 2^e.
inline DoubleDouble Ldexp(DoubleDouble a, int e) {
  return {std::ldexp(a.hi, e), std::ldexp(a.lo, e)};
}

// Returns m with 0.5 <= |m.hi| < 1 (or |m.hi| == 1 with m.hi * m.lo < 0) and
// a == m * 2^(*e).
inline DoubleDouble Frexp(DoubleDouble a, int* e) {
  int exponent = 0;
  double man = std::frexp(a.hi, &exponent);
  double lo = std::ldexp(a.lo, -exponent);
  if (std::fabs(man) == 0.5 && man * lo < 0) {
    man *= 2;
    lo *= 2;
    exponent -= 1;
  }
  *e = exponent;
  return {man, lo};
}

inline bool IsZero(DoubleDouble a) { return a.hi == 0.0; }
inline bool IsFinite(DoubleDouble a) { return std::isfinite(a.hi); }

}  // namespace mlops::monitoring::dd
