#pragma once
// Internal to the library (its .cpp files and the op kernels, which the engine's .cpp
// instantiates): GCC/Clang vector types for loops that vectorise by hand, and the versions, for
// AVX2 and FMA and for AVX-512, that a default x86-64 build (SSE2) compiles of such a loop and
// picks at run time. Eigen's own vectorisation is fixed at compile time by the target flags, and
// its templates would be instantiated alike for every version, so these loops do not use it.
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

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
template <>
struct Lanes<8> {  // AVX-512
  typedef double D __attribute__((vector_size(64)));
  typedef std::int64_t I __attribute__((vector_size(64)));
  typedef float F __attribute__((vector_size(32)));
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

// On x86-64 the default build targets the baseline (SSE2); such a loop is compiled again for AVX2
// and FMA (a function marked GRADSCOPE_AVX2_FMA) and for AVX-512 (GRADSCOPE_AVX512), and
// simd::avx512() and simd::avx2_fma() pick one at run time, so a CPU gets its widest vectors and
// fused multiply-adds without -march=native.
// (Not GCC's function multiversioning: its ifunc resolvers run while the dynamic loader relocates
// the program, before ThreadSanitizer's runtime is up, and crash an instrumented build.)
#if defined(__x86_64__) && !defined(__AVX2__)
#define GRADSCOPE_MULTIVERSION 1
// Clang fuses a * b + c within an expression by default; GCC only with -ffp-contract=fast, which
// ISO C++ mode turns off.
#if defined(__clang__)
#define GRADSCOPE_AVX2_FMA __attribute__((target("avx2,fma")))
#define GRADSCOPE_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#else
#define GRADSCOPE_AVX2_FMA __attribute__((target("avx2,fma"), optimize("fp-contract=fast")))
#define GRADSCOPE_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"), optimize("fp-contract=fast")))
#endif
namespace gradscope::simd {
// Whether this CPU has AVX2 and FMA, asked once.
inline bool avx2_fma() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}
// Whether it also has AVX-512 (F, DQ, VL), asked once.
inline bool avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return avx2_fma() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  }();
  return yes;
}
}  // namespace gradscope::simd
#endif

namespace gradscope::simd {
// Lanes of double where a build has one version only: -march=native on a CPU with AVX-512 or
// AVX2, or another architecture (where GCC lowers the vector types to what it has).
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
constexpr int kLanes = 8;
#elif defined(__AVX2__)
constexpr int kLanes = 4;
#else
constexpr int kLanes = 2;
#endif
}  // namespace gradscope::simd

namespace gradscope::simd {
// f(std::integral_constant<int, N>{}) with N the lanes of double of the widest vectors this CPU
// has. In a multiversioned build f is compiled three times, for AVX-512 (N = 8), AVX2+FMA (N = 4)
// and the baseline (N = 2), and the CPU picks one at run time; elsewhere once, with kLanes. Only a
// body inlined into the version is compiled for it, so f and what its loops call are declared
// always_inline. The one run-time dispatch of the library's hand-vectorised loops and of the
// kernels' loops across samples. Those loops are bound by their vector operations or by moving
// their operands through the caches, and 8 lanes halve the instructions of either.
#ifdef GRADSCOPE_MULTIVERSION
template <class F>
GRADSCOPE_AVX2_FMA void run_avx2_fma(F& f) {
  f(std::integral_constant<int, 4>{});
}
template <class F>
GRADSCOPE_AVX512 void run_avx512(F& f) {
  f(std::integral_constant<int, 8>{});
}
template <class F>
inline void with_lanes(F&& f) {
  if (avx512()) return run_avx512(f);
  if (avx2_fma()) return run_avx2_fma(f);
  f(std::integral_constant<int, 2>{});
}
#else
template <class F>
inline void with_lanes(F&& f) {
  f(std::integral_constant<int, kLanes>{});
}
#endif
}  // namespace gradscope::simd
