// Byte copies between host and device memory.
// Later step (issue 3): pinned host staging and asynchronous copies on a stream.
#pragma once

#include <cstddef>

#include "core/device.h"

namespace recgrad::cuda {

/// Copies `nbytes` from `src` (on `src_device`) to `dst` (on `dst_device`): host to device, device
/// to host or device to device, with cudaMemcpy (synchronous). Errors name `op`.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes, const char* op);

}  // namespace recgrad::cuda
