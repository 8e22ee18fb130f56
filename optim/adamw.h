// AdamW is Adam with decoupled weight decay: see adam.h, which holds both.
#pragma once

#include "optim/adam.h"
