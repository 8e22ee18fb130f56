// The whole public API of recgrad in one include.
#pragma once

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/tensor.h"
#include "nn/nn.h"
#include "optim/optim.h"
