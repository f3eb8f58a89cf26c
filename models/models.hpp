#pragma once
// The model library: layers, residual blocks, layer normalisation, activations, initialisers,
// losses, optimisers, data and training.
#include "gradscope/models/activation.hpp"
#include "gradscope/models/data.hpp"
#include "gradscope/models/dense.hpp"
#include "gradscope/models/derivation_check.hpp"
#include "gradscope/models/init.hpp"
#include "gradscope/models/layer_norm.hpp"
#include "gradscope/models/loss.hpp"
#include "gradscope/models/mlp.hpp"
#include "gradscope/models/network.hpp"
#include "gradscope/models/optimizer.hpp"
#include "gradscope/models/random.hpp"
#include "gradscope/models/recurrent.hpp"
#include "gradscope/models/residual.hpp"
#include "gradscope/models/train.hpp"
