#pragma once
// The general matrix product out = op(a) op(b) or out += op(a) op(b), op(x) = x or xᵀ, for the
// operands the small-factor kernels (matmul.hpp) do not take. In a build on OpenBLAS (CMake option
// GRADSCOPE_BLAS) it runs on OpenBLAS unless Eigen would compute it coefficient by coefficient
// (fewer than 20 rows, columns and inner terms in all); otherwise on Eigen's own kernels.
#include "gradscope/ops/kernel.hpp"

namespace gradscope::ops {

template <class T>
void product(bool transpose_a, const ConstMatrixMap<T>& a, bool transpose_b,
             const ConstMatrixMap<T>& b, MatrixMap<T>& out, bool accumulate);

// The threads one large product may use: Eigen's (OpenMP) and, on OpenBLAS, OpenBLAS's own, which
// Eigen's setting does not reach. Global, as both libraries' counts are.
void set_product_threads(int n);
int product_threads();

}  // namespace gradscope::ops
