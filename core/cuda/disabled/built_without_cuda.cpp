#include "core/cuda/built_without_cuda.h"

#include "core/error.h"

namespace recgrad::cuda {

void throw_built_without_cuda(std::string_view op) {
  throw Error(detail::concat(op, ": this build of recgrad has no CUDA backend (configure with -DRECGRAD_CUDA=ON)"));
}

}  // namespace recgrad::cuda
