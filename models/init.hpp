#pragma once
// Weight initialisers. Each fills a rows x cols matrix given the layer's fan-in and fan-out (which
// of rows/cols is which depends on the layer's orientation) from a seeded Rng, so runs repeat.
#include <gradscope/autodiff/graph.hpp>
#include <string>
#include <string_view>

#include "gradscope/models/random.hpp"

namespace gradscope::models {

struct Init {
  enum class Kind {
    Constant,        // every entry a
    ScaledIdentity,  // a·I (rectangular: a on the main diagonal); the post's 0.8·I and 1.1·I
    Uniform,         // U(a, b)
    Normal,          // N(mean a, std b)
    XavierUniform,   // U(±a·√(6/(fan_in+fan_out)))       Glorot & Bengio 2010, gain a
    XavierNormal,    // N(0, a·√(2/(fan_in+fan_out)))
    HeUniform,       // U(±a·√(6/fan_in))                  He et al. 2015 (fan_in mode), gain a
    HeNormal,        // N(0, a·√(2/fan_in))
    Orthogonal,      // a·Q from the QR of a standard normal matrix (Saxe et al. 2014)
  };
  Kind kind = Kind::Constant;
  double a = 0, b = 0;

  static Init constant(double value) { return {Kind::Constant, value, 0}; }
  static Init scaled_identity(double scale) { return {Kind::ScaledIdentity, scale, 0}; }
  static Init uniform(double lo, double hi) { return {Kind::Uniform, lo, hi}; }
  static Init normal(double mean, double stddev) { return {Kind::Normal, mean, stddev}; }
  static Init xavier_uniform(double gain = 1) { return {Kind::XavierUniform, gain, 0}; }
  static Init xavier_normal(double gain = 1) { return {Kind::XavierNormal, gain, 0}; }
  static Init he_uniform(double gain = 1) { return {Kind::HeUniform, gain, 0}; }
  static Init he_normal(double gain = 1) { return {Kind::HeNormal, gain, 0}; }
  static Init orthogonal(double gain = 1) { return {Kind::Orthogonal, gain, 0}; }
};

// Names for the command line: "zeros", "identity" (scale 1), "uniform" (U(-0.1, 0.1)),
// "normal" (N(0, 0.1)), "xavier" (= xavier_uniform), "xavier_normal", "he" (= he_normal),
// "he_uniform", "orthogonal", and the other names of the same (glorot = xavier, glorot_normal,
// kaiming = he, kaiming_uniform, ...). Throws Error listing them for anything else.
Init parse_init(std::string_view name);
std::string describe(const Init& init);

// Throws Error for a non-finite parameter or an empty shape.
template <class T>
Matrix<T> initialize(const Init& init, Eigen::Index rows, Eigen::Index cols, Eigen::Index fan_in,
                     Eigen::Index fan_out, Rng& rng);

}  // namespace gradscope::models
