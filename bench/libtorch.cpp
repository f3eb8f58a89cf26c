// post_train_libtorch and wide_mlp_libtorch: the post_train and wide_mlp workloads
// (post_workload.hpp, wide_mlp_workload.hpp) written in libtorch's eager C++ API, timed against
// gradscope in the same process at the same thread count. The figure's value is gradscope's time,
// its baseline libtorch's, its ratio gradscope's speed-up (libtorch time / gradscope time).
// Built only with -DGRADSCOPE_BENCH_LIBTORCH=ON; the only file that includes torch's headers.
#include <ATen/Parallel.h>
#include <torch/types.h>
#include <torch/version.h>

#include <link.h>

#include <Eigen/Core>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "benchmarks.hpp"
#include "post_workload.hpp"
#include "wide_mlp_workload.hpp"

namespace gradscope::bench {

namespace {

// Which BLAS libtorch's products run on: Debian's libblas.so.3 is an alternative (reference BLAS
// in .../blas/, OpenBLAS in .../openblas-<threading>/), and it sets libtorch's speed on wide_mlp.
// Returns the directory of the libblas loaded in this process, or "no libblas".
std::string loaded_blas() {
  std::string found = "no libblas";
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        char real[PATH_MAX];
        if (!std::strstr(info->dlpi_name, "libblas") || !realpath(info->dlpi_name, real)) return 0;
        std::string path = real;
        path.erase(path.rfind('/'));
        *static_cast<std::string*>(out) = path.substr(path.rfind('/') + 1);
        return 1;
      },
      &found);
  return found;
}

// libtorch at gradscope's thread count: Eigen's (1 unless Eigen is built with OpenMP), for
// intra-op and inter-op work alike. Returns the baseline's description for the table.
std::string libtorch_at_gradscope_threads() {
  static const int threads = [] {
    const int n = Eigen::nbThreads();
    at::set_num_threads(n);
    at::set_num_interop_threads(n);  // allowed once per process, before any inter-op work
    if (at::get_num_threads() != n || at::get_num_interop_threads() != n)
      fail("libtorch: asked for {} threads, runs {} intra-op and {} inter-op", n,
           at::get_num_threads(), at::get_num_interop_threads());
    return n;
  }();
  return fmt::format("libtorch {} eager ({}), {} thread{} as gradscope; ratio = speed-up",
                     TORCH_VERSION, loaded_blas(), threads, threads == 1 ? "" : "s");
}

// A column-major Eigen matrix as a row-major tensor of the same shape (a copy).
template <class T>
torch::Tensor tensor(const Matrix<T>& m) {
  const auto type = std::is_same_v<T, double> ? torch::kDouble : torch::kFloat;
  // Eigen's column-major r x c buffer is a row-major c x r tensor: transpose it back, copying
  // always (contiguous() would not copy a vector, leaving a tensor on m's memory).
  return torch::from_blob(const_cast<T*>(m.data()), {m.cols(), m.rows()}, type)
      .t()
      .clone(at::MemoryFormat::Contiguous);
}

// A weight (kept 2-D) or a bias column (kept 1-D, libtorch's layout for a bias) as a leaf
// tensor that requires gradients.
template <class T>
torch::Tensor trainable(const Matrix<T>& m, bool bias) {
  auto t = tensor(m);
  return (bias ? t.reshape({-1}).clone() : t).set_requires_grad(true);
}

// The same gradient-descent update as gradscope's: p -= rate · grad, then a zero gradient.
void sgd(std::vector<torch::Tensor>& params, double rate) {
  torch::NoGradGuard no_grad;
  for (auto& p : params) {
    p.add_(p.grad(), -rate);
    p.mutable_grad().zero_();
  }
}

// A 2-D tensor as an Eigen matrix of the same shape (a copy).
template <class T>
Matrix<T> matrix(const torch::Tensor& t) {
  const auto c = t.detach().contiguous();
  if (c.dim() != 2) fail("libtorch: expected a 2-D tensor, got {} dimensions", c.dim());
  using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(c.data_ptr<T>(), c.size(0), c.size(1));
}

// Fails unless |mine - theirs| <= tolerance · scale elementwise (same shapes required).
template <class T>
void check_close(const char* bench, const std::string& what, const Matrix<T>& mine,
                 const Matrix<T>& theirs, double tolerance, double scale) {
  if (mine.rows() != theirs.rows() || mine.cols() != theirs.cols())
    fail("{}: {} is {}x{} in gradscope, {}x{} in libtorch", bench, what, mine.rows(), mine.cols(),
         theirs.rows(), theirs.cols());
  Eigen::Index i = 0, j = 0;
  const double gap = (mine - theirs).cwiseAbs().maxCoeff(&i, &j);
  if (!(gap <= tolerance * scale))
    fail("{}: gradscope and libtorch disagree on {}({},{}): {} vs {} (allowed difference {:g})",
         bench, what, i, j, mine(i, j), theirs(i, j), tolerance * scale);
}

// The post's network in libtorch, samples as rows: z = a w + bᵀ (torch::addmm) with w in x out,
// ReLU between layers, binary_cross_entropy_with_logits (mean) at the output.
class TorchPostNet {
 public:
  TorchPostNet(const PostData& data, const GradscopePostNet& init)
      : x_(tensor<double>(data.x.transpose())), y_(tensor<double>(data.y.transpose())) {
    for (std::size_t k = 0; k < init.params().size(); ++k)
      params_.push_back(trainable(init.params()[k].value(), k % 2 == 1));
  }
  torch::Tensor step() {
    torch::Tensor a = x_;
    for (int l = 0; l < kPostLayers; ++l) {
      const auto z = torch::addmm(params_[2 * l + 1], a, params_[2 * l]);
      a = l + 1 < kPostLayers ? torch::relu(z) : z;
    }
    auto loss = torch::binary_cross_entropy_with_logits(a, y_);
    loss.backward();
    sgd(params_, kPostRate);
    return loss;
  }
  const std::vector<torch::Tensor>& params() const { return params_; }

 private:
  torch::Tensor x_, y_;                // m x 2, m x 1
  std::vector<torch::Tensor> params_;  // w1 (in x out), b1 (out), w2, b2, ...
};

// The wide MLP in libtorch, samples as rows: torch::linear(a, W, b) with W out x in (libtorch's
// own layout, the usual orientation), ReLU between layers, binary_cross_entropy_with_logits.
class TorchWideMlp {
 public:
  TorchWideMlp(const WideMlpData& data, const WideMlp& init)
      : x_(tensor<float>(data.x.transpose())), y_(tensor<float>(data.y.transpose())) {
    for (int l = 0; l < kWideLayers; ++l) {
      params_.push_back(trainable(init.w_out_in(l), false));
      params_.push_back(trainable(init.b(l), true));
    }
  }
  torch::Tensor step() {
    torch::Tensor a = x_;
    for (int l = 0; l < kWideLayers; ++l) {
      const auto z = torch::linear(a, params_[2 * l], params_[2 * l + 1]);
      a = l + 1 < kWideLayers ? torch::relu(z) : z;
    }
    auto loss = torch::binary_cross_entropy_with_logits(a, y_);
    loss.backward();
    sgd(params_, kWideRate);
    return loss;
  }
  const std::vector<torch::Tensor>& params() const { return params_; }

 private:
  torch::Tensor x_, y_;                // 256 x 784, 256 x 10
  std::vector<torch::Tensor> params_;  // W1 (out x in), b1 (out), W2, b2, W3, b3
};

}  // namespace

std::vector<Figure> post_train_libtorch(const Options& opt) {
  const std::string baseline = libtorch_at_gradscope_threads();
  const PostData data;
  GradscopePostNet mine(data);
  TorchPostNet theirs(data, mine);
  Figure f{"post_train_libtorch", "us/iter", baseline, {}, {},
           Target{Target::Of::Ratio, Target::Is::AtLeast, 6}, true};
  double my_loss = 0;
  torch::Tensor their_loss;
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(micros_per_call(kPostSteps, [&] { their_loss = theirs.step(); }));
    f.values.push_back(micros_per_call(kPostSteps, [&] { my_loss = mine.step(); }));
  }
  // Same start, same steps: the same loss at the last step and the same parameters after it.
  constexpr double kTolerance = 1e-9;  // relative, double
  const char* name = "post_train_libtorch";
  check_close<double>(name, "the last loss", Matrix<double>::Constant(1, 1, my_loss),
              matrix<double>(their_loss.reshape({1, 1})), kTolerance, 1 + std::abs(my_loss));
  for (std::size_t k = 0; k < mine.params().size(); ++k) {
    const auto& p = mine.params()[k].value();
    check_close(name, fmt::format("layer{}/{}", k / 2 + 1, k % 2 ? "b" : "w"), p,
                matrix<double>(theirs.params()[k].reshape({p.rows(), p.cols()})), kTolerance,
                1 + p.cwiseAbs().maxCoeff());
  }
  return {f};
}

std::vector<Figure> wide_mlp_libtorch(const Options& opt) {
  const std::string baseline = libtorch_at_gradscope_threads();
  std::mt19937 rng(7);
  const WideMlpData data(rng);
  WideMlp mine(false, rng);
  TorchWideMlp theirs(data, mine);
  Figure f{"wide_mlp_libtorch", "ms/step", baseline, {}, {},
           Target{Target::Of::Ratio, Target::Is::AtLeast, 1.0}, true};
  std::vector<Matrix<float>> initial;  // W1, b1, ... as libtorch holds them (W out x in)
  for (int l = 0; l < kWideLayers; ++l) {
    initial.push_back(mine.w_out_in(l));
    initial.push_back(mine.b(l));
  }
  float my_loss = mine.step(data);  // warm-up, as wide_mlp
  torch::Tensor their_loss = theirs.step();
  for (int r = 0; r < opt.repeat; ++r) {
    f.baselines.push_back(seconds([&] { their_loss = theirs.step(); }) * 1e3);
    f.values.push_back(seconds([&] { my_loss = mine.step(data); }) * 1e3);
  }
  // Same start, same steps. float32, and each side sums its products in its own order, so the
  // parameters are compared by how far the steps moved them (a missing or wrong gradient is off
  // by the whole move; rounding by a small fraction of it), the loss to float precision.
  const char* name = "wide_mlp_libtorch";
  check_close<float>(name, "the last loss", Matrix<float>::Constant(1, 1, my_loss),
              matrix<float>(their_loss.reshape({1, 1})), 1e-5, 1 + std::abs(my_loss));
  for (int k = 0; k < 2 * kWideLayers; ++k) {
    const Matrix<float>& start = initial[k];
    const Matrix<float> moved = (k % 2 ? mine.b(k / 2) : mine.w_out_in(k / 2)) - start;
    const Matrix<float> their_moved =
        matrix<float>(theirs.params()[k].reshape({start.rows(), start.cols()})) - start;
    check_close(name, fmt::format("the step of layer{}/{}", k / 2 + 1, k % 2 ? "b" : "W"), moved,
                their_moved, 1e-2, moved.cwiseAbs().maxCoeff());
  }
  return {f};
}

}  // namespace gradscope::bench
