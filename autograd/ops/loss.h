// (being written: see the family's .cpp)
#pragma once

#include "core/tensor.h"
