// What a differentiable op calls to join the graph: `save` for tensors its
// backward needs, `record` to attach a Node to its output. A typical op:
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     return record("mul", raw::mul(a, b), {a, b},
//                   [sa = SavedTensor(a), sb = SavedTensor(b)](const Tensor& g) { ... });
//   }
#pragma once

#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace recgrad {

/// True when grad mode is on and any of `inputs` requires a gradient.
bool any_requires_grad(const std::vector<Tensor>& inputs);

/// Attaches a node named `name` to `output` when any input requires grad (and
/// grad mode is on); returns `output`. `backward` maps the output gradient to
/// one gradient per input, in the order of `inputs`.
Tensor record(const std::string& name, Tensor output, const std::vector<Tensor>& inputs, Node::Backward backward);

}  // namespace recgrad
