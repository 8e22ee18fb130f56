#include "autograd/node.h"

namespace recgrad {

SavedTensor::SavedTensor(const Tensor& tensor) {
  if (!tensor.defined()) return;
  tensor_ = tensor.detach();
  version_ = tensor.version();
}

Tensor SavedTensor::unpack(const std::string& op) const {
  if (tensor_.defined()) {
    RG_CHECK(tensor_.version() == version_, op, ": a tensor saved for backward (shape ", tensor_.shape(), ", ",
             tensor_.dtype(), ") was modified in place after it was saved (version ", version_, " -> ",
             tensor_.version(), "); the gradient would be wrong. Clone it before modifying it.");
  }
  return tensor_;
}

Node::Node(std::string name, std::vector<Edge> edges, Backward backward)
    : name_(std::move(name)), edges_(std::move(edges)), backward_(std::move(backward)) {}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  for (Edge& edge : edges_) {
    if (edge.node != nullptr) orphans.push_back(std::move(edge.node));
  }
  while (!orphans.empty()) {
    std::shared_ptr<Node> node = std::move(orphans.back());
    orphans.pop_back();
    if (node.use_count() != 1) continue;  // still owned elsewhere
    for (Edge& edge : node->edges_) {
      if (edge.node != nullptr) orphans.push_back(std::move(edge.node));
    }
  }  // each node dies here with no children left to destroy recursively
}

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  RG_CHECK(backward_ != nullptr, "backward through ", name_,
           " a second time: the graph was freed after the first backward; pass retain_graph=true to keep it");
  return backward_(grad_output);
}

}  // namespace recgrad
