#pragma once
// Full-batch training of a binary classifier, the post's loop: forward on all samples, mean binary
// cross-entropy, backward, one optimiser step; repeated. The graph is cleared and re-recorded each
// iteration, so after the first the engine allocates nothing.
#include <functional>
#include <string>
#include <vector>

#include "gradscope/instruments/clip.hpp"
#include "gradscope/autodiff/graph.hpp"
#include "gradscope/models/data.hpp"
#include "gradscope/models/network.hpp"
#include "gradscope/models/optimizer.hpp"
#include "gradscope/models/recurrent.hpp"

namespace gradscope::models {

struct TrainOptions {
  std::size_t iterations = 50000;
  std::string optimizer = "sgd";
  double lr = 0.01;
  // Loss is recorded at iteration 0 (before the first step), every history_every steps, and after
  // the last one. The history holds at most max_history points (plus the last): when full, every
  // other point is dropped and the interval doubles, so a long run at history_every 1 stays small.
  std::size_t history_every = 100;
  std::size_t max_history = 10000;
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
TrainResult train(Network<T>& net, const Dataset& data, const TrainOptions& options);

// Predicted probability per sample (1 x m), and the share of samples with (p >= 0.5) == label.
template <class T>
Eigen::MatrixXd predict(Network<T>& net, const Eigen::MatrixXd& x);
template <class T>
double accuracy(Network<T>& net, const Dataset& data);

// Minibatch training of a sequence regressor by mean squared error: batch after batch of `train`'s
// samples in order (wrapping around), one optimiser step each, with the gradients' global norm
// clipped to `clip` first where clip > 0 (clip_grad_norm).
struct SequenceTrainOptions {
  std::size_t iterations = 2000;
  Eigen::Index batch = 50;
  std::string optimizer = "adam";
  double lr = 0.01;
  double clip = 0;
  // The test set's MSE at iteration 0, every eval_every steps, and after the last one.
  std::size_t eval_every = 100;
  std::function<void(std::size_t iteration, double train_loss, double test_mse)> on_eval;
};

struct SequenceEval {
  std::size_t iteration;
  double train_loss;  // the last minibatch's, before its step
  double test_mse;
};

struct SequenceTrainResult {
  std::vector<SequenceEval> history;
  ClipLog clip;  // the norms before clipping; passes stay 0 without clipping
  // The iteration whose minibatch loss was not finite, where training stopped; -1 if none was.
  long diverged_at = -1;
};

// Throws Error for a batch outside 1 .. train's samples, eval_every 0, or data whose features or
// steps do not fit the network.
template <class T>
SequenceTrainResult train_sequences(SequenceRegressor<T>& net, const Sequences& train,
                                    const Sequences& test, const SequenceTrainOptions& options);

// Mean squared error of the network's predictions on data.
template <class T>
double sequence_mse(SequenceRegressor<T>& net, const Sequences& data);

}  // namespace gradscope::models
