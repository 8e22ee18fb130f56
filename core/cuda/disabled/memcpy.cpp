// Host <-> device copies in a build without the CUDA backend: the argument checks of the CUDA build,
// then the "no CUDA device" Error.
#include "core/cuda/memcpy.h"
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace recgrad::cuda {

void copy_bytes(void* /*dst*/, Device dst_device, const void* /*src*/, Device src_device, std::size_t /*nbytes*/,
                const char* op) {
  RG_CHECK(dst_device.is_cuda() || src_device.is_cuda(), op, ": copy_bytes is for CUDA copies, got ", src_device,
           " -> ", dst_device);
  require_cuda_device(dst_device.is_cuda() ? dst_device : src_device, op);
}

void synchronize(Device device) { require_cuda_device(device, "synchronize"); }

}  // namespace recgrad::cuda
