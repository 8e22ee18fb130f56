#include "autograd/function.h"

namespace recgrad {

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

Tensor record(const std::string& name, Tensor output, const std::vector<Tensor>& inputs, Node::Backward backward) {
  if (!any_requires_grad(inputs)) return output;
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    Edge edge;
    if (input.defined() && input.requires_grad()) {
      if (input.is_leaf())
        edge.leaf = input.impl_ptr();
      else
        edge.node = input.grad_fn();
      edge.shape = input.shape();
      edge.dtype = input.dtype();
    }
    edges.push_back(std::move(edge));
  }
  // A raw op may hand back one of its inputs (contiguous() of a dense tensor);
  // give the output its own handle so the input keeps its own graph identity.
  if (output.impl_ptr().use_count() > 1 || output.requires_grad()) output = output.detach();
  TensorImpl& impl = output.impl();
  impl.requires_grad = true;
  impl.grad_fn = std::make_shared<Node>(name, std::move(edges), std::move(backward));
  return output;
}

}  // namespace recgrad
