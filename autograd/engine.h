// The backward engine: from a root tensor, visits the recorded graph in
// reverse topological order, calling each node's backward exactly once with
// the sum of the gradients flowing into it, and accumulates into `.grad` of
// the leaves that require it.
#pragma once

#include "core/tensor.h"

namespace recgrad {

/// Backpropagates `gradient` (defaults to 1 for a one-element root) from
/// `root`. Frees the graph afterwards unless `retain_graph`. Equivalent to
/// root.backward(gradient, retain_graph).
void backward(const Tensor& root, const Tensor& gradient = Tensor(), bool retain_graph = false);

}  // namespace recgrad
