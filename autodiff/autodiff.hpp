#pragma once
// Everything needed to record graphs and run backward: Graph, Var, Parameter, the ops.
#include "gradscope/autodiff/functions.hpp"
#include "gradscope/autodiff/graph.hpp"
