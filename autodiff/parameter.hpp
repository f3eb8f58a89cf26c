#pragma once
// Parameter<T>: a trainable tensor that outlives graphs, and the process-wide identities that
// graphs and parameters are keyed on.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gradscope/autodiff/error.hpp"
#include "gradscope/autodiff/shape.hpp"
#include "gradscope/ops/kernel.hpp"  // Matrix

namespace gradscope {

template <class T>
class Graph;

namespace detail {
// A process-wide unique, never reused, 64-bit number: graph epochs and parameter identities.
inline std::uint64_t next_id() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}
}  // namespace detail

// A trainable tensor that outlives graphs. Its storage sits behind a pointer, so a Parameter can
// be moved (into a vector, say) while graphs refer to it; it must outlive every graph that uses it.
// Backward adds into grad(); zero_grad() resets it. Every member of a moved-from Parameter throws
// Error. Its identity (for Graph::register_hook(Parameter&)) moves with it and is never reused.
template <class T>
class Parameter {
 public:
  Parameter(Matrix<T> value, std::string name)
      : s_(std::make_unique<Storage>(
            Storage{std::move(value), {}, std::move(name), detail::next_id()})) {
    if (s_->value.size() == 0) fail("parameter '{}': empty value (0 elements)", s_->name);
    s_->grad.setZero(s_->value.rows(), s_->value.cols());
  }
  const std::string& name() const { return storage("Parameter::name()").name; }
  Shape shape() const {
    const Matrix<T>& v = storage("Parameter::shape()").value;
    return {std::uint32_t(v.rows()), std::uint32_t(v.cols())};
  }
  Matrix<T>& value() { return storage("Parameter::value()").value; }
  const Matrix<T>& value() const { return storage("Parameter::value()").value; }
  Matrix<T>& grad() { return storage("Parameter::grad()").grad; }
  const Matrix<T>& grad() const { return storage("Parameter::grad()").grad; }
  void zero_grad() { storage("Parameter::zero_grad()").grad.setZero(); }

 private:
  struct Storage {
    Matrix<T> value, grad;
    std::string name;
    std::uint64_t id;  // what a graph's parameter hooks are keyed on: never an address
  };
  friend class Graph<T>;
  // The storage, or an Error naming what asked (what) if this Parameter was moved from.
  Storage& storage(const char* what) const {
    if (!s_) moved_from(what);
    return *s_;
  }
  [[noreturn, gnu::cold, gnu::noinline]] static void moved_from(const char* what) {
    fail("{}: the Parameter was moved from; use the one it was moved to", what);
  }
  std::unique_ptr<Storage> s_;
};

}  // namespace gradscope
