#include "core/cuda/runtime.h"

#include "core/error.h"

#include <cuda_runtime.h>

namespace recgrad::cuda {
namespace {

/// What cudaGetDeviceCount said the first time we asked.
struct Probe {
  int device_count = 0;
  std::string reason;  // empty when device_count > 0
};

const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the error so later calls do not see it
      p.reason = detail::concat(cudaGetErrorName(status), ": ", cudaGetErrorString(status));
    } else if (count == 0) {
      p.reason = "the driver reports no CUDA device";
    } else {
      p.device_count = count;
    }
    return p;
  }();
  return result;
}

}  // namespace

bool cuda_built() { return true; }

bool cuda_available() {
  try {
    return probe().device_count > 0;
  } catch (...) {
    return false;
  }
}

int cuda_device_count() { return cuda_available() ? probe().device_count : 0; }

std::string cuda_unavailable_reason() { return probe().reason; }

void require_cuda_device(Device device, const char* op) {
  RG_CHECK(device.is_cuda(), op, ": expected a CUDA device, got ", device);
  RG_CHECK(cuda_available(), op, ": CUDA requested (", device,
           ") but no CUDA device/driver is available: ", cuda_unavailable_reason());
  RG_CHECK(device.index >= 0 && device.index < cuda_device_count(), op, ": ", device, " does not exist (",
           cuda_device_count(), " CUDA device(s) visible)");
}

}  // namespace recgrad::cuda
