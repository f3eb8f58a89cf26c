#pragma once
// Internal to the library's .cpp files: GCC/Clang vector types for loops that vectorise by hand,
// and the multiversioning that gives a default x86-64 build (SSE2) an AVX2+FMA version of such a
// loop, chosen when the program loads. Eigen's own vectorisation is fixed at compile time by the
// target flags, and its templates would be instantiated alike for both versions, so these loops
// do not use it.
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace gradscope::simd {

template <int N>
struct Lanes;
template <>
struct Lanes<2> {  // SSE2, the x86-64 baseline
  typedef double D __attribute__((vector_size(16)));
  typedef std::int64_t I __attribute__((vector_size(16)));
  typedef float F __attribute__((vector_size(8)));
};
template <>
struct Lanes<4> {  // AVX2
  typedef double D __attribute__((vector_size(32)));
  typedef std::int64_t I __attribute__((vector_size(32)));
  typedef float F __attribute__((vector_size(16)));
};

// x = p[0..N) as doubles. (An output parameter: returning an AVX vector from a function that may
// be compiled without AVX is an ABI hazard GCC warns about, even where it is always inlined.)
template <int N, class T>
inline __attribute__((always_inline)) void load(typename Lanes<N>::D& x, const T* p) {
  if constexpr (std::is_same_v<T, double>) {
    std::memcpy(&x, p, sizeof x);
  } else {
    typename Lanes<N>::F f;
    std::memcpy(&f, p, sizeof f);
    x = __builtin_convertvector(f, typename Lanes<N>::D);
  }
}

// p[0..N) = x, rounded to T.
template <int N, class T>
inline __attribute__((always_inline)) void store(T* p, const typename Lanes<N>::D& x) {
  if constexpr (std::is_same_v<T, double>) {
    std::memcpy(p, &x, sizeof x);
  } else {
    const auto f = __builtin_convertvector(x, typename Lanes<N>::F);
    std::memcpy(p, &f, sizeof f);
  }
}

}  // namespace gradscope::simd

// On x86-64 the default build targets the baseline (SSE2); GCC and Clang compile an AVX2+FMA
// version beside it and pick one when the program loads (function multiversioning), so a CPU with
// AVX2 gets 4-wide vectors and fused multiply-adds without -march=native. A function defined
// twice, once with GRADSCOPE_AVX2_FMA and once with GRADSCOPE_BASELINE, is one such pair; calls
// choose between them only in the file that defines both (elsewhere the name is the baseline's),
// so the pair stays in an anonymous namespace behind a plain function.
#if defined(__x86_64__) && !defined(__AVX2__)
#define GRADSCOPE_MULTIVERSION 1
// Clang fuses a * b + c within an expression by default; GCC only with -ffp-contract=fast, which
// ISO C++ mode turns off.
#if defined(__clang__)
#define GRADSCOPE_AVX2_FMA __attribute__((target("avx2,fma")))
#else
#define GRADSCOPE_AVX2_FMA __attribute__((target("avx2,fma"), optimize("fp-contract=fast")))
#endif
#define GRADSCOPE_BASELINE __attribute__((target("default")))
#endif

namespace gradscope::simd {
// Lanes of double where a build is not multiversioned: -march=native on an AVX2 machine, or
// another architecture (where GCC lowers the vector types to what it has).
#if defined(__AVX2__)
constexpr int kLanes = 4;
#else
constexpr int kLanes = 2;
#endif
}  // namespace gradscope::simd
