// softmax and log_softmax (core/ops/softmax.h) on the CPU and their backward, over dense rows: the raw ops
// check the arguments and move the softmax dim last (dense copies when needed); core/cuda/softmax.cu reads
// any layout on a GPU.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace recgrad::cpu {

/// y = exp(x - max) / sum(exp(x - max)) per row. Dense [count, n] rows (the raw op moves the dim last).
void softmax_rows(const Tensor& out, const Tensor& x, std::int64_t n);
/// y = x - max - log(sum(exp(x - max))) per row. Dense [count, n] rows (the raw op moves the dim last).
void log_softmax_rows(const Tensor& out, const Tensor& x, std::int64_t n);
/// dx = y (g - sum(g y)) per row, y = softmax(x). Dense [count, n] rows (the raw op moves the dim last).
void softmax_backward_rows(const Tensor& dx, const Tensor& y, const Tensor& grad, std::int64_t n);
/// dx = g - exp(y) sum(g) per row, y = log_softmax(x). Dense [count, n] rows (the raw op moves the dim last).
void log_softmax_backward_rows(const Tensor& dx, const Tensor& y, const Tensor& grad, std::int64_t n);

}  // namespace recgrad::cpu
