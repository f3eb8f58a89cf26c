#include "gradscope/models/optimizer.hpp"

#include <cmath>

namespace gradscope::models {

template <class T>
Optimizer<T>::Optimizer(std::vector<Parameter<T>*> params, double lr)
    : params_(std::move(params)), lr_(lr) {
  if (!std::isfinite(lr) || lr <= 0) fail("optimizer: learning rate {} must be finite and > 0", lr);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i]) fail("optimizer: parameter {} is null", i);
    const std::string& name = params_[i]->name();  // an Error if it was moved from
    for (std::size_t j = 0; j < i; ++j)
      if (params_[j] == params_[i])
        fail("optimizer: parameter '{}' is given twice (positions {} and {}); it would be updated "
             "twice per step", name, j, i);
  }
}

template <class T>
void Optimizer<T>::check_shapes(std::string_view optimizer,
                                std::initializer_list<const std::vector<Matrix<T>>*> state) const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter<T>& p = *params_[i];
    const auto rows = p.value().rows(), cols = p.value().cols();
    if (p.grad().rows() != rows || p.grad().cols() != cols)
      fail("{}: parameter '{}' is {}x{} but its gradient is {}x{}", optimizer, p.name(), rows, cols,
           p.grad().rows(), p.grad().cols());
    for (const auto* s : state)
      if ((*s)[i].rows() != rows || (*s)[i].cols() != cols)
        fail("{}: parameter '{}' is {}x{} but was {}x{} when the optimiser was made; make a new "
             "optimiser after changing a parameter's shape",
             optimizer, p.name(), rows, cols, (*s)[i].rows(), (*s)[i].cols());
  }
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (auto* p : params_) p->zero_grad();
}

template <class T>
Sgd<T>::Sgd(std::vector<Parameter<T>*> params, double lr, double momentum)
    : Optimizer<T>(std::move(params), lr), momentum_(momentum) {
  if (!std::isfinite(momentum) || momentum < 0 || momentum >= 1)
    fail("sgd: momentum {} must be in [0, 1)", momentum);
  if (momentum_ > 0)
    for (auto* p : this->params_)
      velocity_.push_back(Matrix<T>::Zero(p->value().rows(), p->value().cols()));
}

template <class T>
void Sgd<T>::step() {
  if (momentum_ > 0)
    this->check_shapes("sgd", {&velocity_});
  else
    this->check_shapes("sgd", {});
  const T lr(this->lr_);
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    if (momentum_ > 0) {
      velocity_[i] = T(momentum_) * velocity_[i] + p.grad();
      p.value() -= lr * velocity_[i];
    } else {
      p.value() -= lr * p.grad();
    }
  }
}

template <class T>
Adam<T>::Adam(std::vector<Parameter<T>*> params, double lr, double beta1, double beta2, double eps)
    : Optimizer<T>(std::move(params), lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    fail("adam: betas ({}, {}) must be in [0, 1)", beta1, beta2);
  if (!std::isfinite(eps) || eps <= 0) fail("adam: eps {} must be finite and > 0", eps);
  for (auto* p : this->params_) {
    m_.push_back(Matrix<T>::Zero(p->value().rows(), p->value().cols()));
    v_.push_back(m_.back());
  }
}

template <class T>
void Adam<T>::step() {
  this->check_shapes("adam", {&m_, &v_});
  ++t_;
  const T b1(beta1_), b2(beta2_);
  const T c1 = T(1 - std::pow(beta1_, double(t_))), c2 = T(1 - std::pow(beta2_, double(t_)));
  for (std::size_t i = 0; i < this->params_.size(); ++i) {
    Parameter<T>& p = *this->params_[i];
    m_[i] = b1 * m_[i] + (T(1) - b1) * p.grad();
    v_[i] = b2 * v_[i] + (T(1) - b2) * p.grad().cwiseAbs2();
    p.value().array() -=
        T(this->lr_) * (m_[i].array() / c1) / ((v_[i].array() / c2).sqrt() + T(eps_));
  }
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(std::string_view name,
                                             std::vector<Parameter<T>*> params, double lr) {
  if (name == "sgd") return std::make_unique<Sgd<T>>(std::move(params), lr);
  if (name == "momentum") return std::make_unique<Sgd<T>>(std::move(params), lr, 0.9);
  if (name == "adam") return std::make_unique<Adam<T>>(std::move(params), lr);
  fail("unknown optimizer '{}' (expected sgd, momentum or adam)", name);
}

template class Optimizer<double>;
template class Optimizer<float>;
template class Sgd<double>;
template class Sgd<float>;
template class Adam<double>;
template class Adam<float>;
template std::unique_ptr<Optimizer<double>> make_optimizer(std::string_view,
                                                           std::vector<Parameter<double>*>, double);
template std::unique_ptr<Optimizer<float>> make_optimizer(std::string_view,
                                                          std::vector<Parameter<float>*>, double);

}  // namespace gradscope::models
