#include "autograd/node.h"

namespace recgrad {

SavedTensor::SavedTensor(const Tensor& tensor) {
  if (!tensor.defined()) return;
  tensor_ = tensor.detach();
  version_ = tensor.version();
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (tensor_.defined()) {
    RG_CHECK(tensor_.version() == version_, op,
             ": a tensor saved for backward (shape ", tensor_.shape(), ", ", tensor_.dtype(),
             ") was modified in place after it was saved (version ", version_, " -> ", tensor_.version(),
             "); the gradient would be wrong. Clone it before modifying it.");
  }
  return tensor_;
}

Node::Node(std::string name, std::vector<Edge> edges, Backward backward)
    : name_(std::move(name)), edges_(std::move(edges)), backward_(std::move(backward)) {}

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  RG_CHECK(backward_ != nullptr, "backward through ", name_,
           " a second time: the graph was freed after the first backward; pass retain_graph=true to keep it");
  return backward_(grad_output);
}

}  // namespace recgrad
