#include "gradscope/ops/product.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#if GRADSCOPE_OPENBLAS
#include <sys/mman.h>

extern "C" {  // OpenBLAS's own declarations; its cblas.h is not on Debian's default include path
void openblas_set_num_threads(int);
int openblas_get_num_threads();
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*,
            const double*, const int*, const double*, const int*, const double*, double*,
            const int*);
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
            const float*, const int*, const float*, const int*, const float*, float*, const int*);
}
#endif

namespace gradscope::ops {

namespace {

template <class T>
void eigen_product(bool ta, const ConstMatrixMap<T>& a, bool tb, const ConstMatrixMap<T>& b,
                   MatrixMap<T>& out, bool accumulate) {
  auto run = [&](const auto& x, const auto& y) {
    if (accumulate)
      out.noalias() += x * y;
    else
      out.noalias() = x * y;
  };
  if (ta && tb)
    run(a.transpose(), b.transpose());
  else if (ta)
    run(a.transpose(), b);
  else if (tb)
    run(a, b.transpose());
  else
    run(a, b);
}

#if GRADSCOPE_OPENBLAS

// OpenBLAS (0.3.21, Debian 12) gives each caller of a product, and each of its threads, a work
// buffer of 128 MiB and a page from a pool that keeps every buffer it has allocated. When it cannot
// allocate one it retries forever (OpenBLAS issue 5289): a product that runs out of memory would
// hang, where Eigen's throws std::bad_alloc. So before a product that may need more buffers than
// earlier ones filled the pool with (more callers at once, or more threads), the address space for
// one buffer per caller and per thread is mapped and given back, or std::bad_alloc is thrown; and
// one product on all threads makes each thread take its buffer while that space is there.
constexpr std::size_t kBufferBytes = (std::size_t(128) << 20) + 4096;

class BufferPool {
 public:
  // Counts the product's caller for as long as it runs.
  struct Caller {
    explicit Caller(BufferPool& p) : pool(p), count(++p.callers_) {}
    ~Caller() { --pool.callers_; }
    BufferPool& pool;
    const int count;
  };

  void reserve(int callers) {
    const int threads = openblas_get_num_threads();
    if (callers <= filled_callers_.load() && threads <= filled_threads_.load()) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    const int c = std::max(callers, filled_callers_.load());
    const int t = std::max(threads, filled_threads_.load());
    const std::size_t bytes = std::size_t(c + t) * kBufferBytes;
    void* space = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (space == MAP_FAILED) throw std::bad_alloc();
    munmap(space, bytes);
    if (t > filled_threads_.load()) run_on_all_threads(t);
    filled_callers_ = c;
    filled_threads_ = t;
  }

 private:
  // A product OpenBLAS splits over all `threads` (at least 2^18 multiply-adds, 32 rows and columns
  // per thread).
  static void run_on_all_threads(int threads) {
    const int side = 32 * threads, depth = 256;
    const std::vector<double> a(std::size_t(side) * depth, 1.0);
    std::vector<double> c(std::size_t(side) * side);
    const double one = 1, zero = 0;
    dgemm_("N", "T", &side, &side, &depth, &one, a.data(), &side, a.data(), &side, &zero, c.data(),
           &side);
  }

  std::atomic<int> callers_{0}, filled_callers_{0}, filled_threads_{0};
  std::mutex mutex_;
};

BufferPool pool;

template <class T>
bool blas_product(bool ta, const ConstMatrixMap<T>& a, bool tb, const ConstMatrixMap<T>& b,
                  MatrixMap<T>& out, bool accumulate) {
  const Eigen::Index m = out.rows(), n = out.cols(), k = ta ? a.rows() : a.cols();
  // Eigen's own threshold: below it Eigen multiplies coefficient by coefficient, faster than GEMM.
  if (m + n + k < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD || std::min({m, n, k}) == 0 ||
      std::max({m, n, k}) > INT_MAX)
    return false;
  const BufferPool::Caller caller(pool);
  pool.reserve(caller.count);
  const int mi = int(m), ni = int(n), ki = int(k), lda = int(a.rows()), ldb = int(b.rows());
  const T one = 1, beta = accumulate ? 1 : 0;
  const char* const op_a = ta ? "T" : "N";
  const char* const op_b = tb ? "T" : "N";
  if constexpr (std::is_same_v<T, double>)
    dgemm_(op_a, op_b, &mi, &ni, &ki, &one, a.data(), &lda, b.data(), &ldb, &beta, out.data(), &mi);
  else
    sgemm_(op_a, op_b, &mi, &ni, &ki, &one, a.data(), &lda, b.data(), &ldb, &beta, out.data(), &mi);
  return true;
}

#endif

}  // namespace

template <class T>
void product(bool transpose_a, const ConstMatrixMap<T>& a, bool transpose_b,
             const ConstMatrixMap<T>& b, MatrixMap<T>& out, bool accumulate) {
#if GRADSCOPE_OPENBLAS
  if (blas_product(transpose_a, a, transpose_b, b, out, accumulate)) return;
#endif
  eigen_product(transpose_a, a, transpose_b, b, out, accumulate);
}

template void product(bool, const ConstMatrixMap<double>&, bool, const ConstMatrixMap<double>&,
                      MatrixMap<double>&, bool);
template void product(bool, const ConstMatrixMap<float>&, bool, const ConstMatrixMap<float>&,
                      MatrixMap<float>&, bool);

void set_product_threads(int n) {
  Eigen::setNbThreads(n);
#if GRADSCOPE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

int product_threads() {
#if GRADSCOPE_OPENBLAS
  return openblas_get_num_threads();
#else
  return Eigen::nbThreads();
#endif
}

}  // namespace gradscope::ops
