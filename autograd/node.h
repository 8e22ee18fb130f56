// The autograd graph. Every differentiable op whose inputs require gradients
// records a Node on its output: a name, one Edge per input (where that input's
// gradient must go) and a backward function mapping the gradient of the output
// to the gradients of the inputs (the vector-Jacobian product).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace recgrad {

/// Where one input's gradient flows: into the node that produced the input,
/// or, for a leaf that requires grad, into that leaf's `.grad`. Both empty
/// means the input needs no gradient.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<TensorImpl> leaf;
  Shape shape;  // the input's shape, to check the gradient against
  DType dtype = DType::f32;
  bool needs_grad() const { return node != nullptr || leaf != nullptr; }
};

/// A tensor kept for backward, with the storage version at the time it was
/// saved. Unpacking after an in-place change throws instead of silently
/// producing a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Keeps a graph-free alias of `tensor` (so saving an op's own output makes no cycle).
  explicit SavedTensor(const Tensor& tensor);
  /// The saved tensor; throws naming `op` if its storage was modified in place since.
  Tensor unpack(const std::string& op) const;

 private:
  Tensor tensor_;
  std::uint64_t version_ = 0;
};

/// One recorded operation. `backward(grad_output)` returns one gradient per
/// input edge (undefined where the edge needs none).
class Node {
 public:
  using Backward = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

  Node(std::string name, std::vector<Edge> edges, Backward backward);
  /// Frees the graph below iteratively, so a chain of a million ops cannot overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& edges() const { return edges_; }
  /// Runs the backward function; throws if the graph was already freed.
  std::vector<Tensor> apply(const Tensor& grad_output);
  /// Frees what backward saved (called after backward unless retain_graph).
  void release() { backward_ = nullptr; }

 private:
  std::string name_;
  std::vector<Edge> edges_;
  Backward backward_;
};

}  // namespace recgrad
