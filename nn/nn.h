// Every nn/ header: Module and its state I/O, initialisers and layers.
#pragma once

#include "nn/activation.h"
#include "nn/attention.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/init.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/module_list.h"
#include "nn/positional.h"
#include "nn/rms_norm.h"
#include "nn/safetensors.h"
#include "nn/sequential.h"
#include "nn/state_dict.h"
#include "nn/transformer.h"
