// The runtime queries of a build without the CUDA backend: no device, and every request for one
// names the reason.
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace recgrad::cuda {

bool cuda_built() { return false; }

bool cuda_available() { return false; }

int cuda_device_count() { return 0; }

std::string cuda_unavailable_reason() { return "built without CUDA"; }

void require_cuda_device(Device device, const char* op) {
  RG_CHECK(device.is_cuda(), op, ": expected a CUDA device, got ", device);
  RG_CHECK(false, op, ": CUDA requested (", device,
           ") but no CUDA device/driver is available: ", cuda_unavailable_reason());
}

}  // namespace recgrad::cuda
