// The comparison a compare op runs, shared by the raw ops (core/ops/compare.h) and the kernels of both devices.
#pragma once

namespace recgrad::raw {

enum class CompareOp { eq, ne, lt, le, gt, ge };

}  // namespace recgrad::raw
