#pragma once
// Full-batch training of a binary classifier, the seed's loop: forward on all samples, mean binary
// cross-entropy, backward, one optimiser step; repeated. The graph is cleared and re-recorded each
// iteration, so after the first the engine allocates nothing.
#include <functional>
#include <string>
#include <vector>

#include "gradscope/autodiff/graph.hpp"
#include "gradscope/models/data.hpp"
#include "gradscope/models/mlp.hpp"
#include "gradscope/models/optimizer.hpp"

namespace gradscope::models {

struct TrainOptions {
  std::size_t iterations = 50000;
  std::string optimizer = "sgd";
  double lr = 0.01;
  // Loss is recorded at iteration 0 (before the first step), every history_every steps, and after
  // the last one.
  std::size_t history_every = 100;
  // Called after each recorded loss (iteration, loss), e.g. for a progress display.
  std::function<void(std::size_t, double)> on_record;
  // Watches every training pass of a double network (e.g. a GradientMonitor); must outlive the
  // call. train<float> refuses one.
  Observer<double>* observer = nullptr;
};

struct LossPoint {
  std::size_t iteration;  // number of optimiser steps taken before this loss was computed
  double loss;
};

struct TrainResult {
  std::vector<LossPoint> history;
  double final_loss = 0;
  double accuracy = 0;  // on the training data, after the last step
};

// Throws gradscope::Error at the first non-finite loss, naming the iteration and the last recorded
// loss (every later step would compute NaN).
template <class T>
TrainResult train(Mlp<T>& net, const Dataset& data, const TrainOptions& options);

// Predicted probability per sample (1 x m), and the share of samples with (p >= 0.5) == label.
template <class T>
Eigen::MatrixXd predict(Mlp<T>& net, const Eigen::MatrixXd& x);
template <class T>
double accuracy(Mlp<T>& net, const Dataset& data);

}  // namespace gradscope::models
