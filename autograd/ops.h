// Every differentiable operation on tensors, one header per family.
//
// A family X lives at autograd/ops/X.*, core/ops/X.* (the raw op: checks, output allocation, the device
// switch), core/cpu/X.* (the CPU kernels) and core/cuda/X.cu (the CUDA kernels); core/plans/X.h holds what
// both devices' kernels share (plans, geometry, result structs). Exceptions to the one-name rule:
//   - autograd/ops/elementwise.* differentiates the math of core's `unary` family (exp ... clamp) and the
//     comparisons, where, masked_fill, maximum and minimum of core's `compare` family;
//   - autograd/ops/activations.* differentiates the activations of core's `unary` family (relu ... gelu);
//   - autograd/ops/attention.* composes other families (no kernels of its own on the CPU); its fused CUDA
//     path is the `flash_attention` family (CUDA only: no core/cpu file);
//   - `view` has no kernels (core/ops/view.* only; expand and transpose sit in core/plans/view.h);
//   - `matmul` still runs its CPU GEMMs (CBLAS) from core/ops/matmul.cpp.
#pragma once

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/activations.h"
#include "autograd/ops/attention.h"
#include "autograd/ops/binary.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/copy.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gru_cell.h"
#include "autograd/ops/index.h"
#include "autograd/ops/loss.h"
#include "autograd/ops/masked_softmax.h"
#include "autograd/ops/matmul.h"
#include "autograd/ops/norm.h"
#include "autograd/ops/pooling.h"
#include "autograd/ops/random.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/topk.h"
#include "autograd/ops/view.h"
