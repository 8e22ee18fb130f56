#include "autograd/engine.h"

#include <unordered_map>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/ops/binary.h"
#include "core/ops/copy.h"

namespace recgrad {

namespace {

void check_gradient(const Tensor& grad, const Shape& shape, DType dtype, const std::string& where) {
  RG_CHECK(grad.shape() == shape && grad.dtype() == dtype, where, ": gradient of shape ", grad.shape(), " ",
           grad.dtype(), " does not match the tensor's shape ", shape, " ", dtype);
}

// Adds `grad` into a leaf's .grad. The first gradient is copied so that .grad
// owns its storage (the same gradient tensor may flow to several inputs).
void accumulate_into_leaf(TensorImpl& leaf, const Tensor& grad) {
  if (leaf.grad == nullptr) {
    leaf.grad = raw::clone(grad).impl_ptr();
  } else {
    raw::add_(Tensor(leaf.grad), grad);
  }
}

// Number of graph edges pointing at each node reachable from `root`.
std::unordered_map<Node*, int> count_dependencies(Node* root) {
  std::unordered_map<Node*, int> dependencies{{root, 0}};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->edges()) {
      if (edge.node == nullptr) continue;
      auto [it, inserted] = dependencies.try_emplace(edge.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(edge.node.get());
    }
  }
  return dependencies;
}

}  // namespace

void backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  RG_CHECK(root.requires_grad(), "backward: the tensor (shape ", root.shape(),
           ") does not require grad and has no grad_fn; nothing to differentiate");
  Tensor seed = gradient;
  if (!seed.defined()) {
    RG_CHECK(root.numel() == 1, "backward: an implicit gradient needs a one-element output, got shape ", root.shape(),
             "; pass an explicit gradient");
    seed = ones(root.shape(), {root.dtype(), root.device()});
  }
  check_gradient(seed, root.shape(), root.dtype(), "backward");
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_into_leaf(root.impl(), seed);
    return;
  }

  Node* start = root.grad_fn().get();
  std::unordered_map<Node*, int> dependencies = count_dependencies(start);
  std::unordered_map<Node*, Tensor> pending{{start, seed}};
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    // A node that received no gradient at all still runs "empty" so that the
    // dependency counts of the nodes below it reach zero.
    std::vector<Tensor> grads(node->edges().size());
    if (auto it = pending.find(node.get()); it != pending.end()) {
      const Tensor grad_output = std::move(it->second);
      pending.erase(it);
      grads = node->apply(grad_output);
      RG_CHECK(grads.size() == node->edges().size(), node->name(), " backward returned ", grads.size(),
               " gradients for ", node->edges().size(), " inputs");
    }
    for (std::size_t i = 0; i < grads.size(); ++i) {
      const Edge& edge = node->edges()[i];
      const bool has_grad = edge.needs_grad() && grads[i].defined();
      if (has_grad) {
        check_gradient(grads[i], edge.shape, edge.dtype, node->name() + " backward, input " + std::to_string(i));
      }
      if (edge.leaf != nullptr) {
        if (has_grad) accumulate_into_leaf(*edge.leaf, grads[i]);
        continue;
      }
      if (edge.node == nullptr) continue;
      Node* next = edge.node.get();
      if (has_grad) {
        auto [it, inserted] = pending.try_emplace(next, grads[i]);
        if (!inserted) it->second = raw::add(it->second, grads[i]);
      }
      if (--dependencies[next] == 0) ready.push_back(edge.node);
    }
    if (!retain_graph) node->release();
  }
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  recgrad::backward(*this, gradient, retain_graph);
}

}  // namespace recgrad
