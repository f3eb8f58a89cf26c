#pragma once
// Optimisers update Parameters from their accumulated gradients. zero_grad() clears those
// gradients; call it before each backward (backward adds into Parameter::grad()).
#include <gradscope/autodiff/graph.hpp>

#include <initializer_list>
#include <memory>
#include <string_view>
#include <vector>

namespace gradscope::models {

template <class T>
class Optimizer {
 public:
  // Throws Error for a learning rate that is not finite and > 0, a null parameter or one given
  // twice. step() throws Error, before changing anything, for a parameter whose value, gradient
  // or optimiser state no longer have the same shape (a value reassigned to another shape).
  Optimizer(std::vector<Parameter<T>*> params, double lr);
  virtual ~Optimizer() = default;
  void zero_grad();
  virtual void step() = 0;
  double learning_rate() const { return lr_; }

 protected:
  // Throws Error naming the optimiser and the parameter unless value, grad() and every state
  // matrix of each parameter have one shape; state[k][i] belongs to params_[i].
  void check_shapes(std::string_view optimizer,
                    std::initializer_list<const std::vector<Matrix<T>>*> state) const;
  std::vector<Parameter<T>*> params_;
  double lr_;
};

// Plain gradient descent, p -= lr·g (momentum 0, the post's update), or heavy-ball momentum:
// v = μv + g, p -= lr·v (PyTorch's SGD with momentum μ).
template <class T>
class Sgd : public Optimizer<T> {
 public:
  Sgd(std::vector<Parameter<T>*> params, double lr, double momentum = 0);
  void step() override;

 private:
  double momentum_;
  std::vector<Matrix<T>> velocity_;
};

// Adam (Kingma & Ba 2015): m = β1 m + (1-β1) g, v = β2 v + (1-β2) g², p -= lr·m̂/(√v̂ + ε) with
// the bias corrections m̂ = m/(1-β1ᵗ), v̂ = v/(1-β2ᵗ).
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, double lr, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8);
  void step() override;

 private:
  double beta1_, beta2_, eps_;
  long t_ = 0;
  std::vector<Matrix<T>> m_, v_;
};

// "sgd", "momentum" (μ = 0.9) or "adam" with default settings; anything else throws Error.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(std::string_view name,
                                             std::vector<Parameter<T>*> params, double lr);

extern template class Optimizer<double>;
extern template class Optimizer<float>;
extern template class Sgd<double>;
extern template class Sgd<float>;
extern template class Adam<double>;
extern template class Adam<float>;

}  // namespace gradscope::models
